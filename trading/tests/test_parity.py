"""Acceptance: the same candles through paper trading and through the backtester give
identical trades and the same final balance, to the last decimal.

The paper side is the live path end to end: 120 real BTCUSDT 1h candles (a choppy stretch
of the shipped data that ends 350 hours before its newest and trades often) stored as
Candle rows, auto-trading configured (sma_cross, equity_pct sizing, 3x futures,
reversals), and for every candle i, in the backtester's order:

1. the price feed moves to candle i's open (the Redis price cache and its book, stamped
   with the candle's open time) and ``ticks_process`` runs: funding instants due by then
   are settled at that price, as the backtest settles them at the open;
2. ``auto_trading_step`` runs just after candle i-1 closed (candle i is stored, so i-1 is
   closed) and trades i-1's signal through trade_close / trade_open at that open price;
3. the feed walks candle i's path, adverse extreme first, as Engine.on_candle does (long:
   open, low, high, close; short: open, high, low, close; flat: by the candle's colour),
   and ticks at every stop-loss / take-profit level of the open trade crossed between two
   waypoints, as a real feed passes through every price on the way.
After the last candle the open trade is closed at market at the last close (the
backtest's exit_reason "end"; on paper it is a manual close).

The backtest runs on the same candles (read back from the database), the same strategy
signals, and the paper engine itself (its fees and the catalogue's market rules), with
the same slippage (5 bps against the taker on both sides), the same funding rate and the
same sizing (paper trading's equity_pct, trading/backtest/runner.py).

Covered: signal entries, exits and reversals; equity_pct sizing at 3x; taker fees;
bps slippage; funding; stop-loss and take-profit (second case). Not covered: the order
book slippage model (a backtest has no book), trailing stops (paper's watermark moves
only on the ticks it sees, so a feed would have to tick at every new extreme), and
liquidation (the sizing here never gets near it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cryptobot.testing.prices import cached_price_set
from trading.backtest import BacktestConfig, run_backtest, run_backtest_reference
from trading.exchange.base import Bar
from trading.models import AutoTradingRun, Balance, Candle, RiskSettings, Symbol, Trade
from trading.services.auto_trading import auto_config_update, auto_trading_step
from trading.services.paper import account_get, ticks_process, trade_close
from trading.services.paper_account import paper_engine
from trading.services.prices import prices_poll
from trading.strategies import strategy_get
from trading.strategies.frames import candles_frame, candles_read, shipped_candles_path

SYMBOL = "BTCUSDT"
COUNT = 120
# The stretch ends this many hours before the newest shipped candle: the newest 120 hours
# trend and would give a single trade.
END_OFFSET = 350
PARAMS = {"fast": 5, "slow": 20}
LEVERAGE = 3
EQUITY_PCT = Decimal("30")
SLIPPAGE_BPS = "5"
FUNDING_RATE = "0.0001"
HOUR = timedelta(hours=1)


@pytest.fixture
def paper(settings, user, frozen_replay):
    """The paper engine with bps slippage (a backtest has no order book), prices cached,
    and risk settings that refuse nothing this test does."""
    settings.SLIPPAGE_MODE = "bps"
    settings.SLIPPAGE_BPS = SLIPPAGE_BPS
    settings.FUNDING_RATE = FUNDING_RATE
    paper_engine.cache_clear()
    prices_poll()
    account = account_get(user=user)
    RiskSettings.objects.filter(account=account).update(
        max_position_pct=None,
        max_open_trades=None,
        max_risk_per_trade_pct=None,
        min_free_balance=None,
        max_daily_loss_pct=None,
        max_drawdown_pct=None,
        cooldown_after_losses=None,
    )
    yield account
    paper_engine.cache_clear()


def _price(value: float) -> Decimal:
    """A candle's float as the backtester reads it (through its repr)."""
    return Decimal(repr(float(value)))


def _set_price(price: Decimal, time_ms: int) -> None:
    cached_price_set(SYMBOL, price, time_ms=time_ms)


def _tick(price: Decimal, time_ms: int) -> None:
    _set_price(price, time_ms)
    ticks_process(symbols=[SYMBOL])


def _open_trade(user) -> Trade | None:
    return Trade.objects.filter(account__user=user, status=Trade.Status.OPEN).first()


def _walk(user, bar: Candle, time_ms: int) -> None:
    """Candle ``bar``'s path as ticks: waypoints, and every level of the open trade
    crossed between two of them (nearest first)."""
    o, h, lo, c = map(_price, (bar.open, bar.high, bar.low, bar.close))
    trade = _open_trade(user)
    low_first = trade.direction == "long" if trade is not None else c >= o
    path = [o, lo, h, c] if low_first else [o, h, lo, c]
    current = path[0]
    _tick(current, time_ms)
    for target in path[1:]:
        while (trade := _open_trade(user)) is not None:
            up = target > current
            crossed = [
                level
                for level in (trade.stop_loss, trade.take_profit)
                if level is not None
                and (current < level <= target if up else target <= level < current)
            ]
            if not crossed:
                break
            current = min(crossed) if up else max(crossed)
            _tick(current, time_ms)
        if target != current:
            current = target
            _tick(current, time_ms)


def _store_candles() -> list[Candle]:
    frame = candles_read(shipped_candles_path(SYMBOL, "1h")).iloc[-COUNT - END_OFFSET : -END_OFFSET]
    symbol = Symbol.objects.get(symbol=SYMBOL)
    return Candle.objects.bulk_create(
        Candle(
            symbol=symbol,
            timeframe="1h",
            open_time=stamp.to_pydatetime(),
            open=row.open,
            high=row.high,
            low=row.low,
            close=row.close,
            volume=row.volume,
        )
        for stamp, row in zip(frame.index, frame.itertuples(), strict=True)
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _run_paper(user, bars: list[Candle]) -> None:
    for i, bar in enumerate(bars):
        t = _ms(bar.open_time)
        _tick(_price(bar.open), t)  # funding due by this open, a gap through a stop
        if i > 0:  # candle i-1 has closed: its signal trades at this open
            now = bar.open_time.astimezone(UTC) + timedelta(seconds=1)
            outcome = auto_trading_step(user_id=user.pk, symbol=SYMBOL, now=now)
            assert outcome.status == "acted" and not outcome.error, outcome
        _walk(user, bar, t)
    last = _open_trade(user)
    if last is not None:  # the backtest closes what is open at the last close
        trade_close(user=user, number=last.number)


def _backtest(bars: list[Candle], config: BacktestConfig, run=run_backtest):
    frame = candles_frame(
        Bar(_ms(b.open_time), b.open, b.high, b.low, b.close, b.volume) for b in bars
    )
    strategy = strategy_get("sma_cross")
    signals = strategy.signals(frame, strategy.validate(PARAMS))
    return signals, run(frame, signals, config, engine=paper_engine())


PAPER_REASON = {"signal": "manual", "end": "manual"}


@pytest.mark.parametrize(
    "protection",
    [{}, {"stop_loss_pct": Decimal("1.5"), "take_profit_pct": Decimal("2")}],
    ids=["signals only", "stop-loss and take-profit"],
)
def test_paper_auto_trading_and_the_backtest_make_identical_trades(user, paper, protection):
    bars = sorted(_store_candles(), key=lambda b: b.open_time)
    initial = Balance.objects.get(account=paper, asset="USDT").amount
    auto_config_update(
        user=user,
        data={
            "symbols": [SYMBOL],
            "strategy": "sma_cross",
            "strategy_params": PARAMS,
            "timeframe": "1h",
            "market": "futures",
            "sizing": "equity_pct",
            "size": EQUITY_PCT,
            "leverage": LEVERAGE,
            "max_open_trades": 1,
            "enabled": True,
            **protection,
        },
    )
    _run_paper(user, bars)

    config = BacktestConfig(
        SYMBOL,
        market="futures",
        initial_balance=initial,
        leverage=LEVERAGE,
        position_pct=EQUITY_PCT,
        slippage_bps=Decimal(SLIPPAGE_BPS),
        funding=True,
        funding_rate=Decimal(FUNDING_RATE),
        **protection,
    )
    signals, result = _backtest(bars, config)

    # The live step saw the same signal the backtest acts on, candle by candle.
    runs = AutoTradingRun.objects.filter(user=user).order_by("candle_time")
    assert [r.candle_time for r in runs] == [b.open_time for b in bars[:-1]]
    assert [r.signal for r in runs] == [int(s) for s in signals["signal"].iloc[:-1]]
    assert not runs.filter(action__in=["error", "refused"]).exists()
    assert result.rejected == []

    paper_trades = list(Trade.objects.filter(account__user=user).order_by("number"))
    assert len(result.trades) >= 8
    assert len(paper_trades) == len(result.trades)
    for row, trade in zip(paper_trades, result.trades, strict=True):
        assert row.status == "closed" and row.source == "auto"
        assert (row.direction, row.leverage) == (trade["direction"], LEVERAGE)
        assert _ms(row.opened_at) == trade["entry_time_ms"]
        assert _ms(row.closed_at) == trade["exit_time_ms"]
        assert row.entry_price == Decimal(trade["entry_price"])
        assert row.exit_price == Decimal(trade["exit_price"])
        assert row.entered_qty == Decimal(trade["quantity"])
        assert row.fees == Decimal(trade["fees"])
        assert row.funding == Decimal(trade["funding"])
        assert row.realized_pnl - row.fees + row.funding == Decimal(trade["pnl"])
        reason = trade["exit_reason"]
        assert row.close_reason == PAPER_REASON.get(reason, reason)

    final = Balance.objects.get(account=paper, asset="USDT").amount
    assert final == result.final_balance
    # What the case is meant to exercise really happened.
    assert {t["direction"] for t in result.trades} == {"long", "short"}
    assert any(Decimal(t["funding"]) != 0 for t in result.trades)
    reasons = {t["exit_reason"] for t in result.trades}
    if protection:
        assert {"stop_loss", "take_profit"} <= reasons
    reference = _backtest(bars, config, run_backtest_reference)[1]
    assert reference.trades == result.trades
