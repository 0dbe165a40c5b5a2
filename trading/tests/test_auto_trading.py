"""Auto-trading: configuration through the API, and the step on crafted stored candles
through the real paper engine, PostgreSQL and the Redis price cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading import notify
from trading.models import AutoTradingConfig, AutoTradingRun, Candle, Symbol, Trade
from trading.services.auto_trading import auto_config_update, auto_trading_run_all
from trading.services.auto_trading import auto_trading_step as step
from trading.services.prices import prices_poll

START = datetime(2031, 1, 6, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# sma_cross with fast=1, slow=2 compares each close with the one before: it signals +1 on a
# rise after a fall and -1 on a fall after a rise. The closes below (no ties, so either
# convention for equal values gives the same) signal +1 at bar 10 and -1 at bar 12 only.
CLOSES = [110.0 - i for i in range(10)] + [102.0, 103.0, 102.0, 101.0]
BUY_BAR, SELL_BAR = 10, 12
FAST = {"strategy": "sma_cross", "strategy_params": {"fast": 1, "slow": 2}, "timeframe": "1m"}


@pytest.fixture
def priced(frozen_replay):
    """Markets seeded and one poll's prices cached (the replay clock stands still)."""
    prices_poll()


@pytest.fixture
def events(monkeypatch):
    """What the trading_event hook receives (a receiver connected as the notifications app
    connects its own)."""
    received: list[tuple[int, str, dict]] = []
    monkeypatch.setattr(notify, "_receivers", [])
    notify.connect(lambda user_id, kind, data: received.append((user_id, kind, data)))
    return received


def store_candles(symbol: str, closes: list[float], start: datetime = START) -> None:
    row = Symbol.objects.get(symbol=symbol)
    Candle.objects.bulk_create(
        Candle(
            symbol=row,
            timeframe="1m",
            open_time=start + i * MINUTE,
            open=c,
            high=c,
            low=c,
            close=c,
            volume=1.0,
        )
        for i, c in enumerate(closes)
    )


def after_close(bar: int) -> datetime:
    """A moment just after candle ``bar`` closed."""
    return START + (bar + 1) * MINUTE + timedelta(seconds=1)


def configure(user, **changes) -> AutoTradingConfig:
    data = {
        "symbols": ["BTCUSDT"],
        **FAST,
        "sizing": "quote",
        "size": Decimal("500"),
        "leverage": 2,
        "enabled": True,
    }
    data.update(changes)
    return auto_config_update(user=user, data=data)


# --- configuration ---------------------------------------------------------------------

BAD_CONFIGS = [
    ({"strategy": "moon_shot"}, "strategy"),
    ({"strategy_params": {"fast": 0}}, "strategy_params.fast"),
    ({"strategy_params": {"fast": 60, "slow": 50}}, "strategy_params.fast"),
    ({"strategy_params": {"speed": 3}}, "strategy_params.speed"),
    ({"symbols": ["DOGEUSDT"]}, "symbols"),
    ({"symbols": []}, "symbols"),
    ({"timeframe": "2m"}, "timeframe"),
    ({"sizing": "equity_pct", "size": "150"}, "size"),
    ({"sizing": "equity_pct", "size": "0.001"}, "size"),
    ({"sizing": "quote", "size": "0"}, "size"),
    ({"leverage": 0}, "leverage"),
    ({"leverage": 126}, "leverage"),
    ({"market": "spot", "leverage": 5}, "leverage"),
    ({"stop_loss_pct": "0"}, "stop_loss_pct"),
    ({"take_profit_pct": "1000.5"}, "take_profit_pct"),
    ({"trailing_stop_pct": "0.05"}, "trailing_stop_pct"),
    ({"max_open_trades": 0}, "max_open_trades"),
    ({"max_open_trades": 51}, "max_open_trades"),
    ({"max_open_trades": 2, "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CONFIGS)
def test_bad_config_is_400_naming_the_field_and_saves_nothing(api_client, markets, body, field):
    before = api_client.get("/auto_trading/config").json()
    # A good change rides along: it must not be saved either.
    response = api_client.post(
        "/auto_trading/config", {"symbols": ["ETHUSDT"], **body}, format="json"
    )
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert field in error["details"], error
    assert field in error["message"]
    after = api_client.get("/auto_trading/config").json()
    assert after == before


def test_config_saves_a_subset_and_a_new_strategy_starts_from_its_defaults(api_client, markets):
    body = api_client.post(
        "/auto_trading/config",
        {"symbols": ["btc/usdt", "ETHUSDT"], **FAST, "sizing": "equity_pct", "size": "5"},
        format="json",
    ).json()
    assert body["symbols"] == ["BTCUSDT", "ETHUSDT"]
    assert body["strategy_params"] == {"fast": 1, "slow": 2}
    assert body["size"] == "5.00000000" and body["enabled"] is False
    assert {s["name"] for s in body["strategies"]} >= {"sma_cross", "rsi_reversion"}
    body = api_client.post(
        "/auto_trading/config", {"strategy": "rsi_reversion"}, format="json"
    ).json()
    assert body["strategy_params"] == {"period": 14, "oversold": 30.0, "overbought": 70.0}
    assert body["symbols"] == ["BTCUSDT", "ETHUSDT"]  # untouched


def test_start_needs_a_symbol_and_stop_turns_it_off(api_client, markets):
    refused = api_client.post("/auto_trading/start")
    assert refused.status_code == 400 and "symbols" in refused.json()["error"]["details"]
    assert api_client.get("/auto_trading/status").json()["enabled"] is False
    api_client.post("/auto_trading/config", {"symbols": ["BTCUSDT"]}, format="json")
    started = api_client.post("/auto_trading/start")
    assert started.status_code == 200 and started.json()["enabled"] is True
    stopped = api_client.post("/auto_trading/stop").json()
    assert stopped["enabled"] is False and stopped["config"]["symbols"] == ["BTCUSDT"]


# --- the step ----------------------------------------------------------------------------


def test_a_candle_is_acted_on_once_even_when_the_step_runs_twice(user, priced):
    configure(user)
    store_candles("BTCUSDT", CLOSES[: BUY_BAR + 2])
    first = step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR))
    second = step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR))
    assert first.status == "acted" and first.action == "open" and first.signal == 1
    assert second.status == "done"
    assert AutoTradingRun.objects.filter(user=user).count() == 1
    assert Trade.objects.filter(account__user=user).count() == 1
    # The beat task over all users also finds nothing left to do for this candle.
    assert auto_trading_run_all(now=after_close(BUY_BAR)) == {"done": 1}
    assert Trade.objects.filter(account__user=user).count() == 1


def test_buy_signal_opens_an_auto_long_and_the_sell_signal_reverses_it(api_client, user, priced):
    configure(user, stop_loss_pct=Decimal("5"))
    store_candles("BTCUSDT", CLOSES)
    for bar in range(BUY_BAR - 2, SELL_BAR + 1):
        step(user_id=user.pk, symbol="BTCUSDT", now=after_close(bar))

    runs = {r.candle_time: r for r in AutoTradingRun.objects.filter(user=user)}
    assert len(runs) == SELL_BAR - BUY_BAR + 3
    bought, sold = runs[START + BUY_BAR * MINUTE], runs[START + SELL_BAR * MINUTE]
    assert (bought.signal, bought.action) == (1, "open")
    assert (sold.signal, sold.action) == (-1, "reverse")
    assert {r.action for r in runs.values() if r not in (bought, sold)} == {"none"}

    trades = api_client.get("/trades", {"ordering": "opened_at"}).json()["results"]
    trades.sort(key=lambda t: t["id"])
    long, short = trades
    assert long["id"] == bought.trade_number
    assert (long["direction"], long["status"], long["source"]) == ("long", "closed", "auto")
    assert long["strategy"] == "sma_cross" and long["leverage"] == 2
    assert Decimal(long["stop_loss"]) < Decimal(long["entry_price"])
    assert (short["direction"], short["status"], short["source"]) == ("short", "open", "auto")
    assert short["id"] == sold.trade_number

    status = api_client.get("/auto_trading/status").json()
    (btc,) = status["symbols"]
    assert btc["last_signal"] == -1 and btc["last_run"]["candle_time_ms"] == int(
        (START + SELL_BAR * MINUTE).timestamp() * 1000
    )
    assert [t["id"] for t in status["open_trades"]] == [short["id"]]
    # Realized: the closed long's net PnL and the open short's entry fee so far.
    realized = Decimal(long["net_pnl"]) + Decimal(short["net_pnl"])
    assert Decimal(status["pnl"]["realized"]) == realized < 0
    assert status["pnl"]["closed_trades"] == 1 and status["last_error"] is None


def test_on_spot_a_sell_signal_only_closes(user, priced):
    configure(user, market="spot", leverage=1)
    store_candles("BTCUSDT", CLOSES)
    step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR))
    sold = step(user_id=user.pk, symbol="BTCUSDT", now=after_close(SELL_BAR))
    assert sold.action == "close"
    (trade,) = Trade.objects.filter(account__user=user)
    assert (trade.market, trade.status, trade.number) == ("spot", "closed", sold.trade_number)


def test_no_new_trade_while_max_open_trades_are_open(user, priced, events):
    configure(user, symbols=["BTCUSDT", "ETHUSDT"], max_open_trades=1)
    store_candles("BTCUSDT", CLOSES)
    store_candles("ETHUSDT", CLOSES)
    step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR))
    refused = step(user_id=user.pk, symbol="ETHUSDT", now=after_close(BUY_BAR))
    assert refused.action == "refused" and "max_open_trades" in refused.error
    assert Trade.objects.filter(account__user=user).count() == 1


def test_risk_refusal_is_recorded_on_the_run_and_sent_through_the_hook(
    api_client, user, priced, events, django_capture_on_commit_callbacks
):
    configure(user, leverage=50)  # the default risk settings allow at most 20x
    store_candles("BTCUSDT", CLOSES[: BUY_BAR + 2])
    with django_capture_on_commit_callbacks(execute=True):
        outcome = step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR))
    run = AutoTradingRun.objects.get(user=user)
    assert (run.signal, run.action, run.trade_number) == (1, "refused", None)
    assert "leverage" in run.error.lower() and outcome.error == run.error
    assert not Trade.objects.filter(account__user=user).exists()
    assert [(uid, kind) for uid, kind, _ in events] == [(user.pk, "auto_trading_error")]
    assert events[0][2]["error"] == run.error and events[0][2]["symbol"] == "BTCUSDT"
    last_error = api_client.get("/auto_trading/status").json()["last_error"]
    assert last_error["message"] == run.error and last_error["action"] == "refused"


def test_no_price_is_an_error_on_the_run(user, markets, events, django_capture_on_commit_callbacks):
    configure(user)  # no poll has run: the price cache is empty
    store_candles("BTCUSDT", CLOSES[: BUY_BAR + 2])
    with django_capture_on_commit_callbacks(execute=True):
        step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR))
    run = AutoTradingRun.objects.get(user=user)
    assert run.action == "error" and "No price for BTCUSDT" in run.error
    assert [kind for _, kind, _ in events] == ["auto_trading_error"]


def test_the_step_waits_for_the_feed_and_skips_stale_or_disabled(user, priced):
    config = configure(user)
    store_candles("BTCUSDT", CLOSES[: BUY_BAR + 1])
    # Bar 10's period is over, but no later candle is stored yet: it may still change.
    assert step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR)).status == "waiting"
    # Long after the feed stopped: a signal from then is no reason to trade now.
    late = after_close(BUY_BAR) + timedelta(hours=1)
    assert step(user_id=user.pk, symbol="BTCUSDT", now=late).status == "stale"
    assert step(user_id=user.pk, symbol="ETHUSDT", now=after_close(BUY_BAR)).status == "off"
    config.enabled = False
    config.save()
    store_candles("BTCUSDT", [103.0], start=START + (BUY_BAR + 1) * MINUTE)
    assert step(user_id=user.pk, symbol="BTCUSDT", now=after_close(BUY_BAR)).status == "off"
    assert not AutoTradingRun.objects.exists()
