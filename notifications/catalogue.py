"""What each kind of event says: its level, title, message, dashboard link and dedupe key.

Pure: events arrive from the trading and ML hooks and the system watch as ``(kind, data)``
and leave as a :class:`Content`. The dedupe key names the event itself (the trade that
closed, the training run that finished, the incident that began), so an event reported
twice (a retried task, a tick processed twice) notifies once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LEVELS: tuple[str, ...] = ("info", "warning", "error", "critical")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}


@dataclass(frozen=True, slots=True)
class Kind:
    key: str
    label: str
    level: str
    tab: str  # the dashboard tab the notification links to ("" = none)


KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind("trade_opened", "Trade opened", "info", "trade"),
        Kind("trade_closed", "Trade closed", "info", "trade"),
        Kind("stop_loss", "Stop-loss hit", "warning", "trade"),
        Kind("take_profit", "Take-profit hit", "info", "trade"),
        Kind("liquidation", "Liquidation", "critical", "trade"),
        Kind("order_rejected", "Order rejected", "warning", "trade"),
        Kind("auto_trading_signal", "Auto-trading acted", "info", "auto_trading"),
        Kind("auto_trading_error", "Auto-trading error", "error", "auto_trading"),
        Kind("model_retrained", "Model retrained", "info", "model_analytics"),
        Kind("training_failed", "Training failed", "error", "model_analytics"),
        Kind("upload_done", "Upload trained", "info", "ml_prediction"),
        Kind("upload_failed", "Upload failed", "error", "ml_prediction"),
        Kind("drift_detected", "Drift detected", "warning", "hybrid"),
        Kind("price_feed_stale", "Price feed stale", "error", "dashboard"),
        Kind("price_feed_recovered", "Price feed back", "info", "dashboard"),
        Kind("worker_missing", "Worker missing", "critical", "dashboard"),
        Kind("worker_recovered", "Worker back", "info", "dashboard"),
        Kind("custom", "Custom", "info", ""),
    )
}
KIND_KEYS: tuple[str, ...] = tuple(KINDS)


@dataclass(frozen=True, slots=True)
class Content:
    kind: str
    level: str
    title: str
    message: str
    data: dict[str, Any]
    dedupe_key: str
    link: str


def link_of(kind: str) -> str:
    tab = KINDS[kind].tab if kind in KINDS else ""
    return f"/#{tab}" if tab else ""


def _trade_words(data: dict[str, Any]) -> tuple[str, str]:
    symbol = data.get("symbol", "?")
    direction = data.get("direction", "")
    return symbol, f"{symbol} {direction}".strip()


def _pnl(data: dict[str, Any]) -> str:
    pnl = data.get("realized_pnl")
    return f" Realized PnL {pnl} USDT." if pnl is not None else ""


def describe(kind: str, data: dict[str, Any]) -> Content:
    """The notification an event produces. Unknown kinds are reported as they come, at
    info level, so a new hook never loses an event for want of a catalogue entry."""
    spec = KINDS.get(kind, Kind(kind, kind.replace("_", " ").capitalize(), "info", ""))
    title, message, key = spec.label, "", ""
    symbol, what = _trade_words(data)
    trade = data.get("trade_id")
    if kind == "trade_opened":
        title = f"{what} opened"
        message = f"{data.get('quantity')} {symbol} at {data.get('entry_price')}."
        key = f"trade_opened:{trade}"
    elif kind in ("trade_closed", "stop_loss", "take_profit", "liquidation"):
        verb = {
            "trade_closed": "closed",
            "stop_loss": "stopped out",
            "take_profit": "hit its take-profit",
            "liquidation": "was liquidated",
        }[kind]
        title = f"{what} {verb}"
        message = f"Closed at {data.get('exit_price')} ({data.get('reason', kind)}).{_pnl(data)}"
        key = f"trade_closed:{trade}"
    elif kind == "order_rejected":
        title = f"{symbol} order rejected"
        message = f"{data.get('message', '')} (rule: {data.get('rule', '?')})"
    elif kind == "auto_trading_signal":
        title = f"Auto-trading {data.get('action', 'acted')} on {symbol}"
        message = (
            f"Signal {data.get('signal', '?')} on the {data.get('timeframe', '')} candle "
            f"of {data.get('candle_time', '?')}."
        )
        key = f"auto_trading:{symbol}:{data.get('timeframe')}:{data.get('candle_time')}"
    elif kind == "auto_trading_error":
        title = f"Auto-trading error on {symbol}"
        message = str(data.get("error", ""))
        if data.get("candle_time"):
            key = f"auto_trading:{symbol}:{data.get('timeframe')}:{data.get('candle_time')}"
    elif kind in ("model_retrained", "upload_done"):
        title = f"{spec.label}: {symbol}"
        message = str(data.get("summary", ""))
        key = f"training:{data.get('run_id')}"
    elif kind in ("training_failed", "upload_failed"):
        title = f"{spec.label}: {symbol}"
        message = str(data.get("error", ""))
        key = f"training:{data.get('run_id')}"
    elif kind == "drift_detected":
        title = f"Drift detected on {symbol} {data.get('timeframe', '')}".strip()
        message = "The online model's error rate rose; a retraining is queued if configured."
        key = f"drift:{symbol}:{data.get('timeframe')}:{data.get('at_ms')}"
    elif kind in ("price_feed_stale", "price_feed_recovered", "worker_missing", "worker_recovered"):
        message = str(data.get("detail", ""))
        key = f"{kind}:{data.get('since_ms')}"
    else:
        title = str(data.get("title") or spec.label)
        message = str(data.get("message", ""))
    return Content(kind, spec.level, title[:200], message[:2000], data, key, link_of(kind))


def level_at_least(level: str, minimum: str) -> bool:
    return LEVEL_RANK.get(level, 0) >= LEVEL_RANK.get(minimum, 0)
