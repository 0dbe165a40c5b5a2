"""Uploaded candle CSVs: good files are read, each kind of bad file is refused precisely."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from ml.csv_io import CsvError, candles_from_csv
from trading.strategies.frames import candles_time_ms, shipped_candles

HEADER = "open_time,open,high,low,close,volume"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
H = 3_600_000
LIMITS = {"max_bytes": 1_000_000, "max_rows": 1000}


def rows(n: int = 3, start: int = T0) -> list[str]:
    return [f"{start + i * H},100,110,90,105,12.5" for i in range(n)]


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


GOOD = csv(HEADER, *rows())


def test_a_plain_file_gives_a_candles_frame():
    frame = candles_from_csv(GOOD, **LIMITS)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame.index.name == "open_time"
    assert str(frame.index.tz) == "UTC"
    assert list(candles_time_ms(frame)) == [T0, T0 + H, T0 + 2 * H]
    assert frame.iloc[0].tolist() == [100.0, 110.0, 90.0, 105.0, 12.5]
    assert (frame.dtypes == np.float64).all()


def test_iso_times_with_and_without_offsets_are_utc():
    data = csv(
        HEADER,
        "2024-01-01T00:00:00Z,100,110,90,105,1",
        "2024-01-01 03:00:00+02:00,100,110,90,105,1",  # 01:00 UTC
        "2024-01-01T02:00:00,100,110,90,105,1",  # no offset: UTC
        "2024-01-01T03:00:00.000+00:00,100,110,90,105,1",
    )
    frame = candles_from_csv(data, **LIMITS)
    assert list(candles_time_ms(frame)) == [T0 + i * H for i in range(4)]


def test_headers_match_case_insensitively_in_any_order_with_extra_columns():
    data = csv(
        "Symbol, CLOSE ,Volume,Open,High,Low,Timestamp,trades",
        f"BTCUSDT,105,3,100,110,90,{T0},17",
        f"BTCUSDT,106,4,105,107,104,{T0 + H},9",
    )
    frame = candles_from_csv(data, **LIMITS)
    assert frame["close"].tolist() == [105.0, 106.0]
    assert frame["open"].tolist() == [100.0, 105.0]
    assert list(candles_time_ms(frame)) == [T0, T0 + H]


def test_crlf_line_endings_a_bom_and_blank_lines_are_fine():
    text = "\r\n".join(
        [HEADER.replace("open_time", "open_time_ms"), *rows(2), "", *rows(1, T0 + 5 * H)]
    )
    frame = candles_from_csv(b"\xef\xbb\xbf" + text.encode() + b"\r\n", **LIMITS)
    assert list(candles_time_ms(frame)) == [T0, T0 + H, T0 + 5 * H]


def test_spaces_around_cells_are_ignored():
    data = csv(" open_time , open,high,low,close,volume", f" {T0} , 100 ,110, 90,105 , 1 ")
    frame = candles_from_csv(data, **LIMITS)
    assert frame.iloc[0].tolist() == [100.0, 110.0, 90.0, 105.0, 1.0]
    assert list(candles_time_ms(frame)) == [T0]


def test_microsecond_times_are_read_as_binance_writes_them():
    data = csv(HEADER, f"{T0 * 1000},100,110,90,105,1", f"{(T0 + H) * 1000},100,110,90,105,1")
    assert list(candles_time_ms(candles_from_csv(data, **LIMITS))) == [T0, T0 + H]


def test_the_shipped_history_round_trips_through_csv():
    candles = shipped_candles("ETHUSDT", "1h").iloc[-5000:]
    out = io.StringIO()
    frame = candles.reset_index(drop=True)
    frame.insert(0, "open_time", candles_time_ms(candles))
    frame.to_csv(out, index=False, float_format="%.17g")
    back = candles_from_csv(out.getvalue().encode(), max_bytes=10**8, max_rows=10**6)
    pd.testing.assert_frame_equal(back, candles)


def test_an_error_is_its_message_and_carries_where():
    with pytest.raises(CsvError) as caught:
        candles_from_csv(csv(HEADER, rows()[0], "x"), **LIMITS)
    error = caught.value
    assert str(error) == error.message
    assert isinstance(error, ValueError)


BAD = [
    # (name, data, limits, code, row, column)
    ("too large", GOOD, {"max_bytes": 10}, "too_large", None, None),
    ("no bytes", b"", {}, "empty", None, None),
    ("only whitespace", b"  \n\n \r\n", {}, "empty", None, None),
    ("header only", csv(HEADER), {}, "empty", None, None),
    ("nul byte", GOOD[:40] + b"\x00" + GOOD[40:], {}, "not_text", 2, None),
    ("latin-1", csv(HEADER, *rows(2)) + "caf\xe9".encode("latin-1"), {}, "not_text", 4, None),
    ("gzip", b"\x1f\x8b\x08\x00\xff\xfe" + GOOD, {}, "not_text", 1, None),
    ("giant cell", csv(HEADER, f"{T0},{'1' * 140_000},110,90,105,1"), {}, "malformed", 2, None),
    ("semicolons", GOOD.replace(b",", b";"), {}, "wrong_delimiter", 1, None),
    ("tabs", GOOD.replace(b",", b"\t"), {}, "wrong_delimiter", 1, None),
    ("pipes", GOOD.replace(b",", b"|"), {}, "wrong_delimiter", 1, None),
    ("no volume", csv("open_time,open,high,low,close", "1,2,3,1,2"), {}, "missing_column", 1, None),
    ("no header", csv(*rows()), {}, "missing_column", 1, None),
    ("no time", csv("time,open,high,low,close,volume", *rows()), {}, "missing_column", 1, None),
    ("too many rows", csv(HEADER, *rows(5)), {"max_rows": 4}, "too_many_rows", None, None),
    ("too few rows", csv(HEADER, *rows(3)), {"min_rows": 4}, "too_few_rows", None, None),
    ("short row", csv(HEADER, *rows(2), f"{T0 + 9 * H},1,2,1"), {}, "ragged", 4, None),
    ("long row", csv(HEADER, rows()[0] + ",7", *rows(1, T0 + H)), {}, "ragged", 2, None),
    (
        "text price",
        csv(HEADER, *rows(2), f"{T0 + 5 * H},100,abc,90,105,1"),
        {},
        "not_a_number",
        4,
        "high",
    ),
    ("decimal comma", csv(HEADER, f'{T0},"100,5",110,90,105,1'), {}, "not_a_number", 2, "open"),
    ("empty cell", csv(HEADER, rows()[0], f"{T0 + H},100,110,90,,1"), {}, "not_finite", 3, "close"),
    ("nan", csv(HEADER, f"{T0},100,110,90,105,NaN"), {}, "not_finite", 2, "volume"),
    ("inf", csv(HEADER, f"{T0},100,inf,90,105,1"), {}, "not_finite", 2, "high"),
    ("spaced inf", csv(HEADER, f"{T0}, 100 , 110 ,90, inf ,1"), {}, "not_finite", 2, "close"),
    (
        "after a two-line cell",
        csv(HEADER + ",note", f'{T0},100,110,90,105,1,"two\nlines"', f"{T0 + H},1,x,1,1,1,ok"),
        {},
        "not_a_number",
        4,
        "high",
    ),
    ("overflow", csv(HEADER, f"{T0},100,1e400,90,105,1"), {}, "not_finite", 2, "high"),
    (
        "bad iso",
        csv(HEADER, "2024-13-45T00:00:00Z,100,110,90,105,1"),
        {},
        "bad_time",
        2,
        "open_time",
    ),
    (
        "mixed times",
        csv(HEADER, rows()[0], "2024-01-01T01:00:00Z,100,110,90,105,1"),
        {},
        "bad_time",
        3,
        "open_time",
    ),
    (
        "epoch seconds",
        csv(HEADER, f"{T0 // 1000},100,110,90,105,1"),
        {},
        "bad_time",
        2,
        "open_time",
    ),
    ("negative time", csv(HEADER, "-5,100,110,90,105,1"), {}, "bad_time", 2, "open_time"),
    ("year 3000", csv(HEADER, "3000-01-01,100,110,90,105,1"), {}, "bad_time", 2, "open_time"),
    (
        "zero price",
        csv(HEADER, rows()[0], f"{T0 + H},0,110,90,105,1"),
        {},
        "not_positive",
        3,
        "open",
    ),
    ("negative volume", csv(HEADER, f"{T0},100,110,90,105,-1"), {}, "not_positive", 2, "volume"),
    ("high below close", csv(HEADER, f"{T0},100,104,90,105,1"), {}, "inconsistent", 2, "high"),
    ("low above open", csv(HEADER, f"{T0},100,110,101,105,1"), {}, "inconsistent", 2, "low"),
    (
        "going back",
        csv(HEADER, *rows(3), f"{T0 + H},100,110,90,105,1"),
        {},
        "unsorted",
        5,
        "open_time",
    ),
    (
        "duplicate",
        csv(HEADER, *rows(2), f"{T0 + H},100,110,90,105,1"),
        {},
        "duplicate_time",
        4,
        "open_time",
    ),
    ("bad quoting", csv(HEADER, f'{T0},"100"x,110,90,105,1'), {}, "not_a_number", 2, "open"),
]


@pytest.mark.parametrize(
    ("data", "limits", "code", "row", "column"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD],
)
def test_a_bad_file_is_refused_with_its_code_row_and_column(data, limits, code, row, column):
    with pytest.raises(CsvError) as caught:
        candles_from_csv(data, **{**LIMITS, **limits})
    error = caught.value
    assert (error.code, error.row, error.column) == (code, row, column), error.message
    if row is not None:
        assert f"line {row}" in error.message
    if column is not None:
        assert column in error.message


def test_messages_say_how_to_fix_the_file():
    def message(data: bytes, **limits: int) -> str:
        with pytest.raises(CsvError) as caught:
            candles_from_csv(data, **{**LIMITS, **limits})
        return caught.value.message

    assert "use commas" in message(GOOD.replace(b",", b";"))
    assert "binary file, expected CSV text" in message(b"\x00\x01")
    assert "open_time (or open_time_ms, timestamp), open, high, low, close, volume" in message(
        csv("when,open,high,low,close,volume", *rows())
    )
    assert "multiply by 1000" in message(csv(HEADER, f"{T0 // 1000},100,110,90,105,1"))
    assert "'abcdefghijklmnopqrstuvwx...'" in message(
        csv(HEADER, f"{T0},100,{'abcdefghijklmnopqrstuvwxyz' * 3},90,105,1")
    )
    duplicate = message(csv(HEADER, *rows(2), f"{T0 + H},100,110,90,105,1"))
    assert "line 4, column open_time: repeats line 3's" in duplicate
    assert "no rows" in message(csv(HEADER))
    assert "1,000,000" in message(b"x" * 1_000_001)


def test_a_file_just_under_the_limits_is_accepted():
    data = csv(HEADER, *rows(4))
    frame = candles_from_csv(data, max_bytes=len(data), max_rows=4, min_rows=4)
    assert len(frame) == 4
