"""The fast path for backtests whose every order is a market order at a signal.

Most backtests (every sweep of a plain crossover, the bench's year of minutes) trade one
cross-margin futures position that opens and closes only at signals: no stop-loss, no
take-profit, no trailing stop. For those the Decimal engine's full order path (requests,
orders, ledger entries, events: ~80 us a fill) is bookkeeping nobody reads, while the
numbers it produces come from a dozen Decimal operations. This module performs exactly
those operations, in the engine's order and with its roundings (trading/engine/fills.py
``fill_futures`` and ``futures_open``, engine.py ``_place``'s market branch and
``apply_funding``), so the trades, balance and equity are the engine's to the last
digit; tests run random signal streams, leverages, fees, slippage, funding and small
balances through both and compare everything.

What it does not do, it hands back: ``run`` returns False (and the caller runs the
engine path) when the configuration has protection or is spot, or when an open position
may have come near liquidation. That check runs after the loop, on every stretch of
candles during which one position and one cross wallet B were held (one equity segment):
equity(p) = B + q (p - E) minus the maintenance margin of |q| p (Binance's tiers) only
grows as the price moves in the position's favour, so if it is still positive at the
segment's worst price (the lowest low of a long, the highest high of a short, pushed a
further 1e-9 against it), the engine's liquidation price was never reached. An entry
the account refuses (min notional, margin, leverage bracket) is handed to the engine
itself on an identical flat account, so the refusal and its message are the engine's.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import numpy as np

from trading import engine as core
from trading.engine.rules import max_leverage_for, round_qty

if TYPE_CHECKING:
    from trading.backtest.runner import _Shell

Q8 = Decimal("0.00000001")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
EPS = 1e-9
FUNDING_INTERVAL_MS = 8 * 3600 * 1000


def eligible(shell: _Shell) -> bool:
    """Whether ``shell``'s backtest can only ever place market orders at signals."""
    config = shell.config
    rules = shell.rules
    return (
        shell.futures
        and config.stop_loss_pct is None
        and config.take_profit_pct is None
        and config.trailing_stop_pct is None
        and bool(np.isnan(shell.sl).all())
        and bool(np.isnan(shell.tp).all())
        and 1 <= shell.leverage <= rules.max_leverage
        and shell.engine.pricing.mode in ("off", "bps")
    )


def run(shell: _Shell, progress: Callable[[float], None] | None = None) -> bool:
    """Run ``shell``'s backtest on this path; False when it cannot vouch for the result,
    which is then the engine path's to produce (on a new shell: this one may be spent).
    ``progress`` gets 0..1 as the loop moves through the candles."""
    n = shell.n
    if n == 0 or not eligible(shell):
        return False
    engine, rules, config = shell.engine, shell.rules, shell.config
    slip = engine.pricing.mode == "bps"
    taker_price = engine.pricing.taker_price
    taker = engine.fees.futures_taker
    leverage = shell.leverage
    lev = Decimal(leverage)
    share = shell.pct
    min_notional = rules.min_notional
    check_bracket = leverage > min(b.max_leverage for b in rules.brackets)
    # memoryviews: indexing one gives a Python int / float without a numpy scalar
    time = memoryview(np.ascontiguousarray(shell.time, dtype=np.int64))
    opens = memoryview(np.ascontiguousarray(shell.open, dtype=np.float64))
    closes = shell.close
    can_short = shell.can_short
    funding_rate = config.funding_rate
    instants: list[int] = []
    instant_bars: list[int] = []
    if config.funding:
        first = (time[0] // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
        instants = list(range(first, time[n - 1] + 1, FUNDING_INTERVAL_MS))
        instant_bars = np.searchsorted(shell.time, np.asarray(instants, dtype=np.int64)).tolist()
    funded = 0  # instants[:funded] are settled (or fell while flat)

    sig = memoryview(shell.signal)
    next_buy, next_sell, next_entry = map(memoryview, shell.next_signals())
    report_every = max(n // 100, 1)
    report_at = report_every

    wallet = Decimal(config.initial_balance)
    rows: list[tuple] = []  # closed trades, turned into dicts after the loop
    seg_start: list[int] = [0]
    seg_b: list[float | Decimal] = [wallet]
    seg_q: list[float | Decimal] = [0.0]
    seg_e: list[float | Decimal] = [0.0]
    # the open trade (what the engine's Position and Trade would hold); flat: held False
    held = long_held = False
    qty = entry = entry_fee = funding = ZERO
    opened_ms = 0
    last = n - 1
    i = 1
    while True:
        if progress is not None and i >= report_at:
            progress(i / n)
            report_at = i + report_every
        j = (next_sell if long_held else next_buy)[i - 1] if held else next_entry[i - 1]
        ending = j >= last  # nothing acts any more: what is open closes at the last close
        if ending:
            if not held:
                break
            i = last
            price = Decimal(repr(float(closes[last])))
        else:
            i = j + 1
            price = Decimal(repr(opens[i]))
        t = time[i]

        if held and instants:  # apply_funding, each instant in (opened, t] in turn
            due = bisect_right(instants, t, funded)
            for at in range(funded, due):
                if instants[at] <= opened_ms:
                    continue
                bar = instant_bars[at]
                signed = qty if long_held else -qty
                mark = Decimal(repr(opens[bar]))
                amount = (-signed * mark * funding_rate).quantize(Q8, ROUND_HALF_EVEN)
                floor = -max(wallet, ZERO)
                if amount < floor:
                    amount = floor
                if amount:
                    wallet += amount
                    funding += amount
                if seg_start[-1] == bar:
                    seg_b[-1] = wallet
                else:
                    seg_start.append(bar)
                    seg_b.append(wallet)
                    seg_q.append(signed)
                    seg_e.append(entry)
            funded = due

        if held:  # fill_futures of the market order closing the position whole
            quote = qty * (taker_price(rules, not long_held, price) if slip else price)
            fill = (quote / qty).quantize(Q8, ROUND_HALF_EVEN)
            fee = (quote.quantize(Q8, ROUND_HALF_EVEN) * taker).quantize(Q8, ROUND_HALF_UP)
            realized = ((fill - entry) * qty).quantize(Q8)
            if not long_held:
                realized = -realized
            if realized:
                floor = -max(wallet, ZERO) if realized < 0 else ZERO
                wallet += realized
                if realized < floor:
                    wallet += floor - realized
            wallet -= fee if fee <= wallet else max(wallet, ZERO)
            rows.append(
                (
                    long_held,
                    qty,
                    entry,
                    entry_fee,
                    funding,
                    opened_ms,
                    t,
                    fill,
                    fee,
                    realized,
                    ending,
                )
            )
            held = False
        if ending:
            break

        long = sig[j] > 0
        if long or can_short:  # _place's market branch, sized as the runner's ``enter``
            margin = wallet.quantize(Q8) * share / HUNDRED
            size = round_qty(margin * lev / price, rules) if margin > 0 else ZERO
            refused = True
            if size > 0:
                exact = size * (taker_price(rules, long, price) if slip else price)
                refused = (
                    exact < min_notional
                    or (check_bracket and leverage > max_leverage_for(rules, exact))
                    or size * (exact / size) / lev + exact * taker > wallet
                )
            if refused:
                engine_refusal(shell, wallet, i, long, size)
            else:
                fee = (exact.quantize(Q8, ROUND_HALF_EVEN) * taker).quantize(Q8, ROUND_HALF_UP)
                held, long_held, qty, opened_ms = True, long, size, t
                entry = (exact / size).quantize(Q8, ROUND_HALF_EVEN)
                entry_fee, funding = fee, ZERO
                wallet -= fee if fee <= wallet else max(wallet, ZERO)

        if seg_start[-1] == i:  # a funding instant at this candle: the event supersedes it
            del seg_start[-1], seg_b[-1], seg_q[-1], seg_e[-1]
        seg_start.append(i)
        seg_b.append(wallet)
        seg_q.append((qty if long_held else -qty) if held else 0.0)
        seg_e.append(entry if held else 0.0)
        i += 1

    shell.seg_start[:] = seg_start
    shell.seg_b[:] = seg_b
    shell.seg_q[:] = seg_q
    shell.seg_e[:] = seg_e
    segments = shell.segments()
    if not _safe(shell, segments):
        return False

    symbol = shell.symbol
    trades = shell.trades
    for long, size, price, entry_fee, paid, opened, closed, fill, fee, realized, end in rows:
        fees = entry_fee + fee
        net = (ZERO + realized) - fees + paid
        margin = float(size * price / lev)
        trades.append(
            {
                "symbol": symbol,
                "direction": "long" if long else "short",
                "entry_time": "",
                "exit_time": "",
                "entry_time_ms": opened,
                "exit_time_ms": closed,
                "entry_price": str(price),
                "exit_price": str(fill),
                "quantity": str(size),
                "fees": str(fees),
                "funding": str(paid),
                "pnl": str(net),
                "return_pct": float(net) * 100.0 / margin if margin else None,
                "exit_reason": "end" if end else "signal",
            }
        )
    shell.final_balance = wallet
    shell.fill_equity(segments)
    assert shell.equity is not None
    shell.equity[-1] = float(wallet)
    if progress is not None:
        progress(1.0)
    return True


def _safe(shell: _Shell, segments: tuple[np.ndarray, ...]) -> bool:
    """Whether no position came near liquidation (see the module docstring).

    One equity segment holds one position with one cross wallet B over the candles from
    its first to the next segment's first (a trade closed at a candle's open is not in
    that candle's path: the next segment's position is)."""
    starts, wallet, signed, entry = segments
    held = signed != 0
    qty = np.abs(signed)
    lows = np.minimum.reduceat(shell.low, starts)
    highs = np.maximum.reduceat(shell.high, starts)
    # the worst price of each segment, pushed a little further against the position
    worst = np.where(signed > 0, lows * (1 - EPS) - 2e-8, highs * (1 + EPS) + 2e-8)
    equity = wallet + signed * (worst - entry)
    notional = qty * worst
    brackets = shell.rules.brackets
    caps = np.array([float(b.cap) for b in brackets])
    tier = np.minimum(np.searchsorted(caps, notional, side="right"), len(brackets) - 1)
    mmr = np.array([float(b.mmr) for b in brackets])[tier]
    cum = np.array([float(b.cum) for b in brackets])[tier]
    maintenance = notional * mmr - cum
    scale = np.abs(wallet) + qty * entry
    return bool(np.all(~held | (equity - maintenance > EPS * scale)))


def engine_refusal(shell: _Shell, wallet: Decimal, i: int, long: bool, qty: Decimal) -> None:
    """List the engine's own refusal of this entry, made on a flat account of ``wallet``."""
    state = core.AccountState()
    state.balances[core.margin.USDT] = wallet
    state.settings[shell.symbol] = core.types.SymbolSettings(leverage=shell.leverage)
    t = int(shell.time[i])
    direction = core.Direction.LONG if long else core.Direction.SHORT
    res = shell.engine.open_trade(
        state,
        symbol=shell.symbol,
        market=shell.market,
        direction=direction,
        snapshot=core.MarketSnapshot(shell.symbol, Decimal(repr(float(shell.open[i]))), t),
        quantity=qty if qty > 0 else None,
        leverage=shell.leverage,
        source=core.Source.AUTO,
        strategy="backtest",
    )
    order = res.order
    if order is None or order.status != core.OrderStatus.REJECTED:
        raise AssertionError("the fast path refused an entry the engine accepts")
    shell.reject(i, direction, qty, order)
