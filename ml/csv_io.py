"""An uploaded CSV of candles, read into a candles frame (pure: bytes in, DataFrame out).

Uploads are data only: the bytes are decoded as text and parsed as numbers and times,
never evaluated or unpickled. Every refusal is a :class:`CsvError` with a stable ``code``,
the 1-based ``row`` (the file's line number: the header is line 1) and ``column`` where it
applies, and a message that says what is wrong and how to fix it, so the API can answer 400
and the user can correct the file.

The format:

* A header line naming the columns, matched case-insensitively (surrounding spaces
  ignored); extra columns are ignored, their order is free. Required: a time column
  ``open_time`` (or ``open_time_ms`` or ``timestamp``), ``open, high, low, close, volume``.
  Comma-separated (other delimiters are refused with a hint), UTF-8 (a BOM is fine), any
  line ending; blank lines are skipped. Every row has as many cells as the header.
* Times are candle open times, either all integers or all ISO-8601:
  - integers are epoch milliseconds. Epoch seconds are refused, not guessed: when the first
    row's value has 9-11 digits (1e8 <= v < 1e11, i.e. seconds from 1973 to 5138 but
    milliseconds only within 1970's first days) the message says to multiply by 1000.
    Microseconds (first value >= 1e14, Binance's kline files since 2025) are divided by
    1000, as trading/candles.py does. Values past 2262 (pandas' nanosecond range) are
    refused.
  - ISO-8601 strings (``2024-01-01T00:00:00Z``, ``2024-01-01 02:00:00+02:00``,
    ``2024-01-01``): an offset is honoured, no offset means UTC; below a millisecond is
    dropped.
  Times must strictly ascend (no duplicates).
* Prices are finite and > 0, volume finite and >= 0, high >= open, close, low and
  low <= open, close: the rules of trading/candles.py, so an upload is accepted exactly
  when the same candles would be in a shipped file.

Codes, in the order they are checked: too_large, not_text, malformed (broken quoting, a
cell over the csv module's 128 KiB limit), empty (nothing, or blank lines), wrong_delimiter,
missing_column, empty (a header and no rows), too_many_rows, too_few_rows, ragged,
not_a_number and not_finite (together: the earliest bad cell), bad_time, not_positive,
inconsistent, unsorted and duplicate_time (together: the first step that does not go
forward). Where one file has several problems, the first check that fails is reported;
within a check, the earliest row (then the leftmost column).

Parsing is vectorised (the csv module splits, pandas converts whole columns): the shipped
36,400-row BTCUSDT 1m file as CSV (2.2 MB) reads in ~0.25 s on this machine, so the
default upload limit (300,000 rows) takes ~2 s.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from trading.strategies.frames import frame_of

TIME_COLUMNS: Final = ("open_time", "open_time_ms", "timestamp")
VALUE_COLUMNS: Final = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: Final = ("open", "high", "low", "close")
REQUIRED_TEXT: Final = "open_time (or open_time_ms, timestamp), open, high, low, close, volume"
OTHER_DELIMITERS: Final = {";": "semicolons", "\t": "tabs", "|": "pipes"}
MAX_MS: Final = np.iinfo(np.int64).max // 1_000_000  # 2262-04-11: pandas' ns range
_SECONDS = (10**8, 10**11)
_MICROSECONDS = 10**14
_NANOSECONDS = 10**17
_DIGITS = re.compile(r"\s*[0-9]{1,18}\s*")
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:$|[T ])"  # a full date first: "2024" alone is no time
_NOT_FINITE_WORDS = frozenset(
    {"", "nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}
    | {"na", "n/a", "null", "none"}
)
_SHOWN = 24  # characters of an offending value quoted back


class CsvError(ValueError):
    """An uploaded CSV that cannot be used: ``code`` (stable, for clients), ``message``
    (what and how to fix), ``row`` (1-based file line, header = 1) and ``column`` when
    they apply."""

    def __init__(
        self, code: str, message: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row
        self.column = column

    def __str__(self) -> str:
        return self.message


def candles_from_csv(
    data: bytes, *, max_bytes: int, max_rows: int, min_rows: int = 1
) -> pd.DataFrame:
    """The candles of an uploaded CSV (see the module docstring for the format).

    Returns a candles frame (trading.strategies.frames.frame_of). Raises CsvError on the
    first problem; ``len(data) > max_bytes`` is refused before anything is decoded.
    """
    if len(data) > max_bytes:
        raise CsvError(
            "too_large",
            f"the file has {len(data):,} bytes, the limit is {max_bytes:,}; "
            "upload fewer rows or drop unused columns",
        )
    rows, lines = _split(_decode(data))
    if not rows:
        raise CsvError("empty", "the file is empty; upload a CSV with a header and candle rows")
    positions = _header(rows[0], lines[0])
    body, body_lines = rows[1:], np.asarray(lines[1:], dtype=np.int64)
    _check_counts(len(body), max_rows, min_rows)
    _check_ragged(body, len(rows[0]), body_lines)
    columns = {name: [row[i] for row in body] for name, i in positions.items()}
    values = _numbers(columns, body_lines)
    time_name = next(name for name in positions if name not in VALUE_COLUMNS)
    times = _times(columns[time_name], time_name, body_lines)
    _check_positive(values, body_lines)
    _check_consistent(values, body_lines)
    _check_order(times, time_name, body_lines)
    ohlcv = np.column_stack([values[name] for name in VALUE_COLUMNS])
    return frame_of(times, ohlcv)


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise _binary(line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _binary(data[: exc.start].count(b"\n") + 1) from None


def _binary(line: int) -> CsvError:
    return CsvError(
        "not_text",
        f"line {line}: binary file, expected CSV text (UTF-8); export the candles as CSV",
        row=line,
    )


def _split(text: str) -> tuple[list[list[str]], list[int]]:
    """Non-blank records and the file line each ends on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        line = reader.line_num
        raise CsvError(
            "malformed", f"line {line}: not valid CSV ({exc}); check the quoting", row=line
        ) from None
    if reader.line_num == len(rows) and min(map(len, rows), default=2) > 1:
        return rows, list(range(1, len(rows) + 1))  # one line per record: the usual file
    return _split_slowly(text)


def _split_slowly(text: str) -> tuple[list[list[str]], list[int]]:
    """:func:`_split` for files with blank lines or records spanning lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    lines: list[int] = []
    for row in reader:
        if row and (len(row) > 1 or row[0].strip()):  # a row of commas is not blank
            rows.append(row)
            lines.append(reader.line_num)
    return rows, lines


def _header(header: list[str], line: int) -> dict[str, int]:
    """Column name -> cell position of the time column and the five values."""
    names = [cell.strip().lower() for cell in header]
    if len(names) == 1:
        for delimiter, word in OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raise CsvError(
                    "wrong_delimiter",
                    f"line {line}: the columns are separated by {word}; use commas",
                    row=line,
                )
    positions: dict[str, int] = {}
    time_name = next((name for name in TIME_COLUMNS if name in names), None)
    missing = [] if time_name else ["open_time (or open_time_ms, timestamp)"]
    for name in ((time_name,) if time_name else ()) + VALUE_COLUMNS:
        if name in names:
            positions[name] = names.index(name)
        else:
            missing.append(name)
    if missing:
        looks_like_data = bool(names) and bool(re.fullmatch(r"[-+0-9.:TZ ]+", names[0].upper()))
        hint = " (line 1 looks like data: add a header line)" if looks_like_data else ""
        raise CsvError(
            "missing_column",
            f"line {line}: missing column(s) {', '.join(missing)}{hint}; the header must "
            f"name {REQUIRED_TEXT}",
            row=line,
        )
    return positions


def _check_counts(n: int, max_rows: int, min_rows: int) -> None:
    if n == 0:
        raise CsvError("empty", "no rows: the file has a header but no candles")
    if n > max_rows:
        raise CsvError(
            "too_many_rows", f"{n:,} rows, the limit is {max_rows:,}; upload fewer candles"
        )
    if n < min_rows:
        raise CsvError(
            "too_few_rows",
            f"{n:,} rows, at least {min_rows:,} are needed; upload a longer history",
        )


def _check_ragged(body: list[list[str]], width: int, lines: np.ndarray) -> None:
    lengths = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    bad = np.flatnonzero(lengths != width)
    if len(bad):
        i = int(bad[0])
        raise CsvError(
            "ragged",
            f"line {lines[i]}: {lengths[i]} cells, the header has {width}; every row needs "
            "one cell per header column (check for missing or extra commas)",
            row=int(lines[i]),
        )


def _numbers(columns: dict[str, Sequence[str]], lines: np.ndarray) -> dict[str, np.ndarray]:
    """open..volume as float64; the earliest unparseable or non-finite cell is refused."""
    out = {name: _to_float(columns[name]) for name in VALUE_COLUMNS}
    first = _first({name: ~np.isfinite(out[name]) for name in VALUE_COLUMNS})
    if first is not None:
        i, name = first
        text = str(columns[name][i]).strip()
        line = int(lines[i])
        if text.lower() in _NOT_FINITE_WORDS or np.isinf(out[name][i]):
            shown = "empty" if not text else f"{_shown(text)!r}"
            raise CsvError(
                "not_finite",
                f"line {line}, column {name}: the value is {shown}; every {name} must be a "
                "finite number (fill or remove the row)",
                row=line,
                column=name,
            )
        raise CsvError(
            "not_a_number",
            f"line {line}, column {name}: {_shown(text)!r} is not a number; write plain "
            "decimals like 27123.45 (dot as decimal point, no thousands separator)",
            row=line,
            column=name,
        )
    return out


def _to_float(cells: Sequence[str]) -> np.ndarray:
    """Cells as float64, NaN where not a number. pandas' parser skips the spaces around a
    number but not around "inf"; the few cells it refuses are stripped and retried."""
    values = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy(
        np.float64, copy=True
    )
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        again = pd.Series([str(cells[i]).strip() for i in bad], dtype=object)
        values[bad] = pd.to_numeric(again, errors="coerce").to_numpy(np.float64)
    return values


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _times(cells: Sequence[str], name: str, lines: np.ndarray) -> np.ndarray:
    """Open times as int64 epoch ms: all integers (ms, or µs) or all ISO-8601."""
    if _DIGITS.fullmatch(cells[0]):
        return _epoch_times(pd.Series(cells, dtype=object), name, lines)
    raw = pd.Series(cells, dtype=object).str.strip()
    dated = raw.str.match(_ISO_DATE).to_numpy(dtype=bool)
    parsed = pd.to_datetime(raw.where(dated), utc=True, format="ISO8601", errors="coerce")
    ms = parsed.dt.as_unit("ms").astype("int64").to_numpy()
    bad = np.flatnonzero(parsed.isna().to_numpy() | (ms < 0) | (ms > MAX_MS))
    if len(bad):
        i = int(bad[0])
        raise _bad_time(
            lines[i],
            name,
            f"{_shown(str(raw.iloc[i]))!r} is not an ISO-8601 time (like 2024-01-31T13:00:00Z)"
            " between 1970 and 2262",
        )
    return ms


def _epoch_times(raw: pd.Series, name: str, lines: np.ndarray) -> np.ndarray:
    is_int = raw.str.fullmatch(_DIGITS.pattern).to_numpy(dtype=bool)
    if not is_int.all():
        i = int(np.flatnonzero(~is_int)[0])
        raise _bad_time(
            lines[i],
            name,
            f"{_shown(str(raw.iloc[i]))!r} is not epoch milliseconds like line {lines[0]}'s "
            "(use one format for the whole column)",
        )
    values = raw.astype(np.int64).to_numpy()  # int() per cell: spaces around are fine
    first = int(values[0])
    if _SECONDS[0] <= first < _SECONDS[1]:
        raise _bad_time(
            lines[0],
            name,
            f"{first} looks like epoch seconds; give epoch milliseconds (multiply by 1000) "
            "or ISO-8601 times",
        )
    if first >= _NANOSECONDS:
        raise _bad_time(
            lines[0], name, f"{first} looks like epoch nanoseconds; give epoch milliseconds"
        )
    if first >= _MICROSECONDS:
        values = values // 1000  # microseconds, as in Binance's kline files
    late = np.flatnonzero(values > MAX_MS)
    if len(late):
        i = int(late[0])
        raise _bad_time(lines[i], name, f"{raw.iloc[i]} is past 2262; give epoch milliseconds")
    return values


def _bad_time(line: int | np.integer, name: str, what: str) -> CsvError:
    return CsvError("bad_time", f"line {line}, column {name}: {what}", row=int(line), column=name)


def _first(mask_by_column: dict[str, np.ndarray]) -> tuple[int, str] | None:
    """The earliest row (then leftmost column) where a mask is True."""
    best: tuple[int, str] | None = None
    for name, mask in mask_by_column.items():
        hits = np.flatnonzero(mask)
        if len(hits) and (best is None or hits[0] < best[0]):
            best = (int(hits[0]), name)
    return best


def _check_positive(values: dict[str, np.ndarray], lines: np.ndarray) -> None:
    masks = {name: values[name] <= 0 for name in PRICE_COLUMNS}
    masks["volume"] = values["volume"] < 0
    found = _first(masks)
    if found is not None:
        i, name = found
        rule = "volume must be >= 0" if name == "volume" else "prices must be > 0"
        line = int(lines[i])
        raise CsvError(
            "not_positive",
            f"line {line}, column {name}: {values[name][i]:g}; {rule}",
            row=line,
            column=name,
        )


def _check_consistent(values: dict[str, np.ndarray], lines: np.ndarray) -> None:
    o, h, low, c = (values[name] for name in PRICE_COLUMNS)
    found = _first({"high": (h < o) | (h < c) | (h < low), "low": (low > o) | (low > c)})
    if found is not None:
        i, name = found
        line = int(lines[i])
        raise CsvError(
            "inconsistent",
            f"line {line}, column {name}: open {o[i]:g}, high {h[i]:g}, low {low[i]:g}, "
            f"close {c[i]:g}; high must be >= open, close and low, and low <= open and close "
            "(are two columns swapped?)",
            row=line,
            column=name,
        )


def _check_order(times: np.ndarray, name: str, lines: np.ndarray) -> None:
    steps = np.diff(times)
    bad = np.flatnonzero(steps <= 0)
    if not len(bad):
        return
    i = int(bad[0]) + 1
    before, here = int(lines[i - 1]), int(lines[i])
    when = pd.Timestamp(int(times[i]), unit="ms", tz="UTC").isoformat()
    if steps[i - 1] == 0:
        raise CsvError(
            "duplicate_time",
            f"line {here}, column {name}: repeats line {before}'s open time {when}; "
            "keep one candle per time",
            row=here,
            column=name,
        )
    raise CsvError(
        "unsorted",
        f"line {here}, column {name}: {when} goes back before line {before}'s time; sort the "
        "rows by time, oldest first",
        row=here,
        column=name,
    )
