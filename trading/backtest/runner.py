"""Backtests: the paper engine's core with an in-memory shell over historical candles.

Every fill, fee, margin check, stop, liquidation and funding payment is the real Engine's
(trading/engine); this module only decides *when* to call it.

The convention (one candle = one step, for candle i with open time t_i):
1. Funding (futures, ``config.funding``): the 00:00 / 08:00 / 16:00 UTC instants since the
   later of the last settlement and the position's opening, up to and including t_i, are
   settled with Engine.apply_funding at candle i's open price (the mark at that instant
   for aligned candles; a coarser candle settles the instants inside it at the next
   open). The position held through the instant pays or receives, as on Binance.
2. The signal of candle i-1 is acted on at candle i's open (a MARKET order through the
   engine at a MarketSnapshot of that open, so slippage moves it against the taker):
   an opposite open trade is closed (exit_reason "signal"); then, when flat, a +1 opens a
   long and a -1 opens a short (futures with ``allow_short``; on spot a -1 only exits).
   A signal in the direction already held does nothing (no pyramiding).
3. Engine.on_candle walks the candle open -> adverse extreme -> other extreme -> close
   (a long visits the low first, a short the high) and triggers stop-loss, trailing stop,
   take-profit and liquidation at exactly their levels on the way; a stop and a target
   inside one candle: the stop wins (pessimistic); a gap through a stop fills at the open.
4. Equity at candle i's close = USDT balance + position x (close - entry) (futures, cross
   margin) or USDT + base held x close (spot).
A trade still open after the last candle is closed at its close (exit_reason "end").

Sizing is paper trading's ``equity_pct`` (trading/services/paper.py ``_resolve``), so a
backtest and the auto-trader it stands for size every entry alike: ``position_pct`` % of
the account's equity is committed as margin (spot: as cost), quantity = equity x pct / 100
x leverage / price, rounded down to the step, where equity is the margin balance plus spot
holdings at the price (what paper's ``equity_of`` reads) and price is the snapshot price
the order sees (candle i's open, before slippage). The entry fee comes on top, so 100 %
cannot be funded: the engine refuses it (insufficient margin), as paper trading does.

Protection, as paper trading resolves it: a signal row's absolute ``stop_loss`` /
``take_profit`` wins over the config's percentages, which are taken from the snapshot
price (candle i's open, rounded to the tick); they go with the entry order to the engine.
A level on the wrong side of that price is ignored (paper trading would refuse the
order). The trailing stop trails from the fill price. A refused entry (min notional, no
margin) is listed in ``BacktestResult.rejected``.

Speed. ``run_backtest_reference`` is the definition: every candle goes through steps 1-4
with Engine.on_candle. ``run_backtest`` gives the identical result (a test proves it) but
calls the Decimal engine only at events: it finds with numpy where the next event is (the
next signal that acts, the next funding instant, the first candle whose low / high
reaches the stop, target, trailing level or liquidation price, with a relative margin of
1e-9 so float rounding can only add candidates) and jumps there; at a candidate candle
the engine itself decides (on_candle). Between events nothing in the engine state
changes except the trailing watermark, which is moved to the best high / low of the
skipped candles exactly as on_candle would have; the equity curve is filled in
vectorised from balance, position and entry between events. A futures backtest without
stop-loss, take-profit or trailing stop goes faster still (trading/backtest/signal_only.py:
the engine's market-fill arithmetic without its bookkeeping, proven equal by tests), and
falls back to the event path whenever a position may have come near liquidation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from cryptobot.lib.time import ms_iso
from trading import engine as core
from trading.backtest import signal_only
from trading.backtest.metrics import TradeColumns, backtest_metrics
from trading.strategies.frames import candles_time_ms, iso_seconds

USDT = "USDT"
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
EPS = 1e-9  # relative margin on float thresholds: candidates are a superset of events
MAX_CURVE_POINTS = 2000
YEAR_MS = 365 * 24 * 3600 * 1000


@dataclass(frozen=True)
class BacktestConfig:
    """How a backtest trades: market, money, leverage, sizing, costs and protection.

    position_pct: share (percent) of the account's equity committed per entry as margin
    (paper trading's equity_pct; the entry fee comes on top, so 100 is refused).
    fee_rate: the taker rate as a fraction (None: the engine's schedule). slippage_bps:
    market fills move this many basis points against the taker, rounded to the tick
    against the taker (0: fills at the candle's open exactly; backtests have no order
    book). stop_loss_pct / take_profit_pct: percents of the price the entry order saw
    (the open); trailing_stop_pct: of the best price since the fill. funding_rate: the
    rate settled every 8 h when ``funding`` (futures).
    """

    symbol: str
    market: str = "futures"
    initial_balance: Decimal = Decimal("10000")
    leverage: int = 1
    position_pct: Decimal = Decimal("95")
    fee_rate: Decimal | None = None
    slippage_bps: Decimal = Decimal("0")
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    trailing_stop_pct: Decimal | None = None
    allow_short: bool = True
    funding: bool = True
    funding_rate: Decimal = Decimal("0.0001")


@dataclass
class BacktestResult:
    """What a backtest produced.

    trades: one dict per closed trade, oldest first: symbol, direction, entry_time,
    exit_time (ISO-8601 UTC), entry_time_ms, exit_time_ms, entry_price, exit_price,
    quantity (base units), fees, funding, pnl (net of fees and funding; money and
    quantities as Decimal strings), return_pct (net pnl over the margin committed, float),
    exit_reason (signal, stop_loss, take_profit, trailing_stop, liquidation, end).
    equity_curve: (epoch ms, equity at the candle's close), every candle, downsampled to
    at most 2,000 points (evenly, keeping the last). final_balance: USDT once everything
    is closed. rejected: entries the engine refused (time, direction, rule, message).
    path: how it was computed, "signal-only" (trading/backtest/signal_only.py) or "events"
    (the engine at every event); the results are the same either way.
    """

    trades: list[dict[str, Any]]
    equity_curve: list[tuple[int, float]]
    metrics: dict[str, Any]
    final_balance: Decimal
    candles: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    path: str = "events"


def run_backtest(
    candles: pd.DataFrame,
    signals: pd.DataFrame,
    config: BacktestConfig,
    *,
    engine: core.Engine,
    progress: Callable[[float], None] | None = None,
) -> BacktestResult:
    """Run ``signals`` over ``candles`` through ``engine``, calling it only at events.

    ``candles``: the frame described in trading/strategies/base.py; ``signals``: a
    strategy's signal frame on the same index. The result is identical to
    run_backtest_reference (see the module docstring); ``progress`` gets 0..1.
    """
    shell = _Shell(candles, signals, config, engine)
    if signal_only.run(shell, progress):
        return shell.result()
    shell = _Shell(candles, signals, config, engine)  # the engine path, from a clean state
    shell.run_fast(progress)
    return shell.result()


def run_backtest_reference(
    candles: pd.DataFrame,
    signals: pd.DataFrame,
    config: BacktestConfig,
    *,
    engine: core.Engine,
    progress: Callable[[float], None] | None = None,
) -> BacktestResult:
    """The same backtest candle by candle, Engine.on_candle on every one (slow; the
    definition the fast path is tested against)."""
    shell = _Shell(candles, signals, config, engine)
    shell.run_reference(progress)
    return shell.result()


def backtest_engine(engine: core.Engine, config: BacktestConfig) -> core.Engine:
    """``engine``'s rules and fees, with the config's taker fee and bps slippage."""
    fees = engine.fees
    if config.fee_rate is not None:
        fees = replace(fees, spot_taker=config.fee_rate, futures_taker=config.fee_rate)
    if config.slippage_bps:
        slippage = core.SlippageModel(mode="bps", bps=Decimal(config.slippage_bps))
    else:
        slippage = core.SlippageModel(mode="off")
    return core.Engine(fees=fees, slippage=slippage, rules=engine.rules)


def periods_per_year(time_ms: np.ndarray) -> float:
    """Candles per year from the median spacing of the open times (1m: 525,600)."""
    if len(time_ms) < 2:
        return 365.0
    steps = np.diff(time_ms)
    regular = bool((steps == steps[0]).all())  # the median of equal steps is the step
    step = float(steps[0]) if regular else float(np.median(steps))
    return YEAR_MS / step if step > 0 else 365.0


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _next_true(mask: np.ndarray) -> np.ndarray:
    """For each j, the smallest j' >= j with mask[j'] (len(mask) when none)."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1]


class _Shell:
    """The in-memory shell: one AccountState, the candles, and steps 1-4 of the docstring."""

    def __init__(
        self,
        candles: pd.DataFrame,
        signals: pd.DataFrame,
        config: BacktestConfig,
        engine: core.Engine,
    ) -> None:
        if config.market not in ("spot", "futures"):
            raise ValueError(f"market must be spot or futures, not {config.market!r}")
        if config.symbol not in engine.rules:
            raise ValueError(f"unknown symbol {config.symbol}")
        if len(signals) != len(candles):
            raise ValueError("signals must be on the candles' index")
        self.config = config
        self.engine = backtest_engine(engine, config)
        self.rules = self.engine.rules[config.symbol]
        self.symbol = config.symbol
        self.futures = config.market == "futures"
        self.market = core.Market.FUTURES if self.futures else core.Market.SPOT
        self.can_short = self.futures and config.allow_short
        self.candles = candles
        self.n = n = len(candles)
        self.time = candles_time_ms(candles)
        self.open = candles["open"].to_numpy(dtype=np.float64)
        self.high = candles["high"].to_numpy(dtype=np.float64)
        self.low = candles["low"].to_numpy(dtype=np.float64)
        self.close = candles["close"].to_numpy(dtype=np.float64)
        self.signal = np.sign(signals["signal"].fillna(0).to_numpy()).astype(np.int8)
        self.sl = (
            signals["stop_loss"].to_numpy(dtype=np.float64)
            if "stop_loss" in signals
            else np.full(n, np.nan)
        )
        self.tp = (
            signals["take_profit"].to_numpy(dtype=np.float64)
            if "take_profit" in signals
            else np.full(n, np.nan)
        )
        self.pct = Decimal(config.position_pct)
        self.leverage = int(config.leverage) if self.futures else 1
        self.state = core.AccountState()
        start_ms = int(self.time[0]) if n else 0
        self.engine.deposit(self.state, USDT, Decimal(config.initial_balance), start_ms)
        self.trades: list[dict[str, Any]] = []
        # the trades' times and pnl as arrays, when the path that made them has them;
        # result() reads them from the dicts otherwise
        self.trade_columns: TradeColumns | None = None
        self.rejected: list[dict[str, Any]] = []
        self.trade: core.Trade | None = None
        # equity segments: from bar seg_start[k] on, equity = B + q * (close - E)
        # (floats, or Decimals converted when the curve is filled in)
        self.seg_start: list[int] = [0]
        self.seg_b: list[float | Decimal] = [float(config.initial_balance)]
        self.seg_q: list[float | Decimal] = [0.0]
        self.seg_e: list[float | Decimal] = [0.0]
        self.equity: np.ndarray | None = None
        self.final_balance: Decimal | None = None  # set by a path that keeps no AccountState
        # thresholds of the open trade (floats), refreshed after every event
        self.lo = -math.inf  # long: stop / liquidation below; short: target below
        self.hi = math.inf
        self.trail: float | None = None

    # ------------------------------------------------------------------ engine steps

    def snap(self, i: int, price: float) -> core.MarketSnapshot:
        return core.MarketSnapshot(self.symbol, _dec(price), int(self.time[i]))

    def fund(self, i: int) -> bool:
        """Step 1: settle the funding instants due at candle i's open. True if any."""
        if not (self.futures and self.config.funding):
            return False
        position = self.state.positions.get(self.symbol)
        if position is None:
            return False
        last = max(self.state.funding_ms.get(self.symbol, 0), position.opened_ms)
        due = core.funding_due(last, int(self.time[i]))
        if not due:
            return False
        mark = _dec(self.open[i])
        for instant in due:
            self.engine.apply_funding(
                self.state, self.symbol, self.config.funding_rate, mark, instant
            )
        return True

    def act(self, i: int, signal: int) -> bool:
        """Step 2: act on ``signal`` (of candle i-1) at candle i's open. True if it did."""
        if not signal:
            return False
        done = False
        trade = self.trade
        long = signal > 0
        if trade is not None:
            if (trade.direction == core.Direction.LONG) == long:
                return False
            res = self.engine.close_trade(self.state, trade.id, self.snap(i, self.open[i]))
            self.record(res, "signal")
            done = True
        if self.trade is None and (long or self.can_short):
            self.enter(i, long)
            done = True
        return done

    def enter(self, i: int, long: bool) -> None:
        """Open a trade at candle i's open, sized and protected as paper trading's
        ``_resolve`` does (see the module docstring)."""
        engine, rules, state = self.engine, self.rules, self.state
        snap = self.snap(i, self.open[i])
        price = snap.price
        direction = core.Direction.LONG if long else core.Direction.SHORT
        margin = self.equity_at(price) * self.pct / HUNDRED
        qty = core.round_qty(margin * self.leverage / price, rules) if margin > 0 else ZERO
        stop, take = self.levels(i, long, price)
        res = engine.open_trade(
            state,
            symbol=self.symbol,
            market=self.market,
            direction=direction,
            snapshot=snap,
            quantity=qty if qty > 0 else None,
            leverage=self.leverage if self.futures else None,
            stop_loss=stop,
            take_profit=take,
            trailing_stop_pct=self.config.trailing_stop_pct,
            source=core.Source.AUTO,
            strategy="backtest",
        )
        order = res.order
        if order is None or order.status == core.OrderStatus.REJECTED:
            self.reject(i, direction, qty, order)
            return
        self.trade = next(t for t in state.trades.values() if t.symbol == self.symbol)

    def reject(
        self, i: int, direction: core.Direction, qty: Decimal, order: core.Order | None
    ) -> None:
        """List an entry at candle i the engine refused (``order``, its rejected order)."""
        self.rejected.append(
            {
                "time": ms_iso(int(self.time[i])),
                "time_ms": int(self.time[i]),
                "direction": direction.value,
                "quantity": str(qty),
                "rule": order.reject_reason if order else "",
                "message": order.reject_message if order else "",
            }
        )

    def next_signals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For every candle j: the next candle >= j with a buy, with a sell, and with a
        signal that opens a trade from flat (n when none)."""
        sig = self.signal
        next_buy = _next_true(sig > 0)
        next_sell = _next_true(sig < 0)
        return next_buy, next_sell, _next_true(sig != 0) if self.can_short else next_buy

    def equity_at(self, price: Decimal) -> Decimal:
        """The equity paper trading's ``equity_of`` reads, with the symbol at ``price``:
        the margin balance plus the spot holdings' value."""
        summary = core.account_summary(self.state, self.engine.rules)
        held = self.state.balances.get(self.rules.base, ZERO)
        return summary.margin_balance + held * price

    def levels(self, i: int, long: bool, price: Decimal) -> tuple[Decimal | None, Decimal | None]:
        """(stop_loss, take_profit) of an entry at ``price`` on candle i's open: the signal
        row's absolute levels, else the config's percentages of ``price`` rounded to the
        tick; a level on the wrong side of ``price`` is dropped."""
        config = self.config
        sign = 1 if long else -1
        stop = take = None
        raw_sl, raw_tp = self.sl[i - 1], self.tp[i - 1]
        if not math.isnan(raw_sl):
            stop = _dec(raw_sl)
        elif config.stop_loss_pct is not None:
            stop = core.round_price(
                price * (ONE - sign * config.stop_loss_pct / HUNDRED), self.rules
            )
        if not math.isnan(raw_tp):
            take = _dec(raw_tp)
        elif config.take_profit_pct is not None:
            take = core.round_price(
                price * (ONE + sign * config.take_profit_pct / HUNDRED), self.rules
            )
        if stop is not None and (stop <= 0 or (stop >= price if long else stop <= price)):
            stop = None
        if take is not None and (take <= 0 or (take <= price if long else take >= price)):
            take = None
        return stop, take

    def on_candle(self, i: int) -> bool:
        """Step 3: the candle's path through the engine. True if the state changed
        beyond the trailing watermark (a trade closed)."""
        res = self.engine.on_candle(
            self.state,
            self.symbol,
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            int(self.time[i]),
        )
        if res.events:
            self.record(res, None)
            return True
        return False

    def finish(self) -> None:
        """Close what is still open at the last candle's close (exit_reason "end")."""
        if self.trade is not None and self.n:
            last = self.n - 1
            res = self.engine.close_trade(
                self.state, self.trade.id, self.snap(last, self.close[last])
            )
            self.record(res, "end")

    def record(self, res: core.Result, reason: str | None) -> None:
        for event in res.events:
            if isinstance(event, core.TradeClosed):
                trade = event.trade
                self.trades.append(self.trade_dict(trade, reason or event.reason.value))
                if self.trade is not None and self.trade.id == trade.id:
                    self.trade = None

    def trade_dict(self, trade: core.Trade, reason: str) -> dict[str, Any]:
        qty = trade.entered_qty or trade.quantity
        margin = qty * trade.entry_price / (self.leverage if self.futures else 1)
        net = trade.net_pnl
        closed = trade.closed_ms if trade.closed_ms is not None else trade.opened_ms
        return {
            "symbol": trade.symbol,
            "direction": trade.direction.value,
            "entry_time": "",  # ISO strings filled in by result(), all at once
            "exit_time": "",
            "entry_time_ms": trade.opened_ms,
            "exit_time_ms": closed,
            "entry_price": str(trade.entry_price),
            "exit_price": str(trade.exit_price),
            "quantity": str(qty),
            "fees": str(trade.fees),
            "funding": str(trade.funding),
            "pnl": str(net),
            "return_pct": float(net) * 100.0 / float(margin) if margin else None,
            "exit_reason": reason,
        }

    # ------------------------------------------------------------------ equity

    def equity_now(self, close: Decimal) -> Decimal:
        state = self.state
        usdt = state.balances.get(USDT, core.types.ZERO)
        if self.futures:
            position = state.positions.get(self.symbol)
            if position is None:
                return usdt
            return usdt + position.quantity * (close - position.entry_price)
        held = state.balances.get(self.rules.base, core.types.ZERO)
        return usdt + held * close

    def segment(self, i: int) -> None:
        """From candle i on (until the next segment), equity = B + q * (close - E)."""
        state = self.state
        b = float(state.balances.get(USDT, core.types.ZERO))
        if self.futures:
            position = state.positions.get(self.symbol)
            q = float(position.quantity) if position is not None else 0.0
            e = float(position.entry_price) if position is not None else 0.0
        else:
            q = float(state.balances.get(self.rules.base, core.types.ZERO))
            e = 0.0
        if self.seg_start[-1] == i:
            self.seg_b[-1], self.seg_q[-1], self.seg_e[-1] = b, q, e
        else:
            self.seg_start.append(i)
            self.seg_b.append(b)
            self.seg_q.append(q)
            self.seg_e.append(e)

    # ------------------------------------------------------------------ the loops

    def run_reference(self, progress: Callable[[float], None] | None) -> None:
        n = self.n
        equity = np.empty(n, dtype=np.float64)
        every = max(n // 100, 1)
        for i in range(n):
            self.fund(i)
            if i > 0:
                self.act(i, int(self.signal[i - 1]))
            self.on_candle(i)
            equity[i] = float(self.equity_now(_dec(self.close[i])))
            if progress is not None and i % every == 0:
                progress(i / n)
        self.finish()
        if n:
            equity[-1] = float(self.equity_now(_dec(self.close[-1])))
        self.equity = equity
        if progress is not None:
            progress(1.0)

    def run_fast(self, progress: Callable[[float], None] | None) -> None:
        n = self.n
        if n == 0:
            self.equity = np.empty(0)
            return
        next_buy, next_sell, next_entry = self.next_signals()
        report_every = max(n // 100, 1)
        report_at = report_every
        i = 1  # candle 0 can hold nothing: a signal is acted on at the next open
        while i < n:
            if progress is not None and i >= report_at:
                progress(i / n)
                report_at = i + report_every
            if self.trade is None:
                j = int(next_entry[i - 1])  # the next signal that opens a trade
                if j >= n - 1:
                    break
                i = j + 1
                self.event_bar(i)
                i += 1
                continue
            long = self.trade.direction == core.Direction.LONG
            j = int((next_sell if long else next_buy)[i - 1])  # the next opposite signal
            end = min(j + 1, n)
            if self.futures and self.config.funding:
                end = min(end, self.next_funding_bar(i))
            k = self.first_candidate(i, end, long)
            if k < end:
                self.sync_watermark(i, k, long)
                self.after_event(k, self.on_candle(k))
                i = k + 1
                continue
            self.sync_watermark(i, end, long)
            if end >= n:
                break
            self.event_bar(end)
            i = end + 1
        self.finish()
        self.fill_equity()
        self.equity[-1] = float(self.equity_now(_dec(self.close[-1])))
        if progress is not None:
            progress(1.0)

    def event_bar(self, i: int) -> None:
        """Steps 1-3 for one candle at which something acts at the open."""
        changed = self.fund(i)
        changed = self.act(i, int(self.signal[i - 1])) or changed
        if changed:
            self.refresh()
        closed = False
        if self.trade is not None:
            long = self.trade.direction == core.Direction.LONG
            if self.first_candidate(i, i + 1, long) == i:
                closed = self.on_candle(i)
            else:
                self.sync_watermark(i, i + 1, long)
        self.after_event(i, closed)

    def after_event(self, i: int, changed: bool = True) -> None:
        if changed:
            self.refresh()
        self.segment(i)

    def refresh(self) -> None:
        """The open trade's thresholds as floats (stops and liquidation on the adverse side)."""
        trade = self.trade
        if trade is None:
            self.lo, self.hi, self.trail = -math.inf, math.inf, None
            return
        long = trade.direction == core.Direction.LONG
        adverse: list[float] = []
        if trade.stop_loss is not None:
            adverse.append(float(trade.stop_loss))
        if self.futures:
            lp = core.position_liquidation_price(self.state, self.engine.rules, self.symbol)
            if lp:
                adverse.append(float(lp))
        target = float(trade.take_profit) if trade.take_profit is not None else None
        if long:
            self.lo = max(adverse) * (1 + EPS) if adverse else -math.inf
            self.hi = target * (1 - EPS) if target is not None else math.inf
        else:
            self.hi = min(adverse) * (1 - EPS) if adverse else math.inf
            self.lo = target * (1 + EPS) if target is not None else -math.inf
        pct = trade.trailing_stop_pct
        self.trail = float(pct) / 100.0 if pct is not None else None

    def first_candidate(self, i: int, end: int, long: bool) -> int:
        """The first candle in [i, end) whose range may reach a level of the open trade."""
        if end <= i:
            return end
        low = self.low[i:end]
        high = self.high[i:end]
        mask = (low <= self.lo) | (high >= self.hi)
        trade = self.trade
        if self.trail is not None and trade is not None and trade.watermark is not None:
            mark = float(trade.watermark)
            if long:
                best = np.maximum(np.maximum.accumulate(high), mark)
                mask |= low <= best * ((1.0 - self.trail) * (1 + EPS))
            else:
                best = np.minimum(np.minimum.accumulate(low), mark)
                mask |= high >= best * ((1.0 + self.trail) * (1 - EPS))
        k = int(mask.argmax())
        return i + k if mask[k] else end

    def next_funding_bar(self, i: int) -> int:
        """The first candle (>= i) at whose open a funding instant is due."""
        position = self.state.positions.get(self.symbol)
        if position is None:
            return self.n
        last = max(self.state.funding_ms.get(self.symbol, 0), position.opened_ms)
        interval = 8 * 3600 * 1000
        instant = (last // interval + 1) * interval
        return max(int(np.searchsorted(self.time, instant, side="left")), i)

    def sync_watermark(self, i: int, end: int, long: bool) -> None:
        """Move the trailing watermark over candles [i, end) as on_candle would have."""
        trade = self.trade
        if trade is None or trade.trailing_stop_pct is None or end <= i:
            return
        if long:
            best = _dec(self.high[i:end].max())
            if trade.watermark is None or best > trade.watermark:
                trade.watermark = best
        else:
            best = _dec(self.low[i:end].min())
            if trade.watermark is None or best < trade.watermark:
                trade.watermark = best

    def segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(first candle, B, q, E) of each equity segment as arrays; a segment runs to the
        next one's first candle (the last to the end)."""
        return (
            np.asarray(self.seg_start, dtype=np.int64),  # strictly increasing, from 0
            np.asarray(self.seg_b, dtype=np.float64),
            np.asarray(self.seg_q, dtype=np.float64),
            np.asarray(self.seg_e, dtype=np.float64),
        )

    def fill_equity(self, segments: tuple[np.ndarray, ...] | None = None) -> None:
        """equity = B + q * (close - E) at every candle, each segment's B, q, E repeated
        over its candles (computed in place: the same operations, fewer arrays)."""
        starts, b, q, e = segments if segments is not None else self.segments()
        counts = np.diff(starts, append=self.n)
        equity = np.repeat(e, counts)
        np.subtract(self.close, equity, out=equity)
        equity *= np.repeat(q, counts)
        equity += np.repeat(b, counts)
        self.equity = equity

    # ------------------------------------------------------------------ result

    def result(self) -> BacktestResult:
        assert self.equity is not None
        columns = self.trade_columns
        if columns is None:
            columns = TradeColumns.of(self.trades)
        # entry, exit, entry, exit...: a reversal's exit and next entry share one string
        iso = iso_seconds(np.column_stack([columns.entry_ms, columns.exit_ms]).ravel())
        for trade, entry, leave in zip(self.trades, iso[0::2], iso[1::2], strict=True):
            trade["entry_time"], trade["exit_time"] = entry, leave
        metrics = backtest_metrics(
            self.equity,
            self.trades,
            candles=self.candles,
            periods_per_year=periods_per_year(self.time),
            columns=columns,
            time_ms=self.time,
        )
        metrics["rejected_entries"] = len(self.rejected)
        return BacktestResult(
            trades=self.trades,
            equity_curve=downsample(self.time, self.equity),
            metrics=metrics,
            final_balance=(
                self.final_balance
                if self.final_balance is not None
                else self.state.balances.get(USDT, core.types.ZERO)
            ),
            candles=self.n,
            rejected=self.rejected,
            path="events" if self.final_balance is None else "signal-only",
        )


def downsample(
    time_ms: np.ndarray, equity: np.ndarray, limit: int = MAX_CURVE_POINTS
) -> list[tuple[int, float]]:
    """(ms, equity) pairs, at most ``limit``: evenly spaced candles, the last one kept."""
    n = len(equity)
    if n <= limit:
        picks = np.arange(n)
    else:
        picks = np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
    return list(zip(time_ms[picks].tolist(), equity[picks].tolist(), strict=True))


__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "backtest_engine",
    "downsample",
    "periods_per_year",
    "run_backtest",
    "run_backtest_reference",
]
