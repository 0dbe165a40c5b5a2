"""What each event says, and which events count as the same one."""

from __future__ import annotations

import pytest

from ml.notify import ml_event
from notifications.catalogue import KINDS, describe, level_at_least
from notifications.models import Notification
from trading.notify import trading_event

EXAMPLES = {
    "trade_opened": {
        "trade_id": 1,
        "symbol": "ETHUSDT",
        "direction": "short",
        "quantity": "0.5",
        "entry_price": "3000",
    },
    "trade_closed": {
        "trade_id": 1,
        "symbol": "ETHUSDT",
        "direction": "short",
        "exit_price": "2900",
        "reason": "manual",
        "realized_pnl": "50",
    },
    "order_rejected": {"symbol": "ETHUSDT", "rule": "max_leverage", "message": "Too much."},
    "auto_trading_signal": {
        "symbol": "ETHUSDT",
        "timeframe": "1h",
        "signal": 1,
        "action": "open",
        "candle_time": "2026-01-01T00:00:00Z",
    },
    "auto_trading_error": {
        "symbol": "ETHUSDT",
        "timeframe": "1h",
        "error": "no price",
        "candle_time": "2026-01-01T00:00:00Z",
    },
    "model_retrained": {"run_id": 9, "symbol": "BTCUSDT", "summary": "accuracy 0.53"},
    "upload_failed": {"run_id": 10, "symbol": "BTCUSDT", "error": "bad rows"},
    "drift_detected": {"symbol": "BTCUSDT", "timeframe": "1h", "at_ms": 5},
    "worker_missing": {"detail": "no Celery worker heartbeat", "since_ms": 7},
}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_event_has_a_title_a_message_and_an_event_key(kind):
    content = describe(kind, EXAMPLES[kind])
    assert content.level == KINDS[kind].level and content.title and content.message
    if kind != "order_rejected":  # each rejection is its own event
        assert content.dedupe_key
    assert content.link.startswith("/#") and content.data == EXAMPLES[kind]


def test_a_trade_closing_is_one_event_whatever_closed_it():
    data = EXAMPLES["trade_closed"]
    keys = {
        describe(kind, data).dedupe_key
        for kind in ("trade_closed", "stop_loss", "take_profit", "liquidation")
    }
    assert keys == {"trade_closed:1"}
    assert describe("trade_opened", data).dedupe_key != describe("trade_closed", data).dedupe_key


def test_unknown_kinds_still_notify():
    content = describe("new_thing", {"message": "hello"})
    assert content.level == "info" and content.message == "hello" and content.dedupe_key == ""


def test_levels_order():
    assert level_at_least("critical", "error") and level_at_least("warning", "info")
    assert not level_at_least("info", "warning")


def test_the_domain_hooks_are_wired_to_notifications(user):
    trading_event(user.pk, "order_rejected", EXAMPLES["order_rejected"])
    ml_event(user.pk, "upload_failed", EXAMPLES["upload_failed"])
    ml_event(None, "model_retrained", EXAMPLES["model_retrained"])
    kinds = sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == ["model_retrained", "order_rejected", "upload_failed"]
