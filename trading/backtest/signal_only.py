"""The fast path for backtests whose every order is a market order at a signal.

Most backtests (every sweep of a plain crossover, the bench's year of minutes) trade one
cross-margin futures position that opens and closes only at signals: no stop-loss, no
take-profit, no trailing stop. For those the Decimal engine's full order path (requests,
orders, ledger entries, events: ~80 us a fill) is bookkeeping nobody reads, while the
numbers it produces come from a dozen Decimal operations. This module performs those
operations, in the engine's order and with its roundings (trading/engine/fills.py
``fill_futures`` and ``futures_open``, engine.py ``_place``'s market branch and
``apply_funding``), leaving out only those whose result is provably one of their
operands (see ``_run``), so the trades, balance and equity are the engine's to the last
digit; tests run random signal streams, leverages, fees, slippage, funding and small
balances through both and compare everything.

What it does not do, it hands back: ``run`` returns False (and the caller runs the
engine path) when the configuration has protection or is spot, when a fill's quote
would take more than 28 digits, or when an open position may have come near
liquidation. That check runs after the loop, on every stretch of
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
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, Inexact, getcontext
from operator import mul
from typing import TYPE_CHECKING

import numpy as np

from trading import engine as core
from trading.backtest.metrics import TradeColumns
from trading.engine.rules import max_leverage_for, round_qty

if TYPE_CHECKING:
    from trading.backtest.runner import _Shell

Q8 = Decimal("0.00000001")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
ZERO_Q8 = Decimal("0E-8")
TENTH = Decimal("0.1")
HUNDREDTH = Decimal("0.01")
EPS = 1e-9
PRICE_DIGITS = 17  # the most a float's repr has
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
    if shell.n == 0 or not eligible(shell):
        return False
    try:
        return _run(shell, progress)
    except Inexact:  # a quote too long to be exact (see _Digits)
        return False


def _run(shell: _Shell, progress: Callable[[float], None] | None) -> bool:
    """The loop over the signals that act, then the liquidation check and the equity.

    Every operation is the engine's, on the same values, in the same order, but for those
    whose result is provably one of their operands (see ``_Digits``): a fill's average
    price x / q of a quote x = q * p is p, the margin check's q * (x / q) is x, and a
    rounding to 8 decimals of a number that has at most 8 is the number. A trade's dict is
    made when it closes, while its numbers are at hand (converting them all afterwards
    reads them back from memory, which costs more than the conversions)."""
    n = shell.n
    engine, rules, config = shell.engine, shell.rules, shell.config
    slip = engine.pricing.mode == "bps"
    taker_price = engine.pricing.taker_price
    taker = engine.fees.futures_taker
    leverage = shell.leverage
    lev = Decimal(leverage)
    lev_one = leverage == 1  # x * 1 and x / 1 are x: skipped
    # wallet * share / 100 and wallet * (share / 100) multiply the same digits: one value
    share = shell.pct / HUNDRED
    step, step_pow10 = rules.step_size, rules.step_pow10
    min_notional = rules.min_notional
    check_bracket = leverage > min(b.max_leverage for b in rules.brackets)
    digits = _Digits(shell)
    exact_product = digits.exact_product
    short_below, q8_limit = digits.short_below, digits.q8_limit
    prices_round, quotes_round = digits.prices_round, digits.quotes_round
    wallet_round = digits.wallet_round
    time = shell.time
    can_short = shell.can_short
    last = n - 1

    # the signals that can act (at the next open), in order: the loop walks these
    signal = shell.signal
    acting = np.flatnonzero(signal[:last])
    m = len(acting)
    buys = signal[acting] > 0
    next_buy = _next_of(buys)
    next_sell = _next_of(~buys)
    next_entry = list(range(m + 1)) if can_short else next_buy
    bars = (acting + 1).tolist()
    bar_ms = time[acting + 1].tolist()
    bar_open = shell.open[acting + 1]
    is_buy = buys.tolist()
    # the open prices as the engine gets them, made in bulk for the signals that act unless
    # an entry was refused (a turn from the signal before; the others: when they act)
    turn = np.ones(m, dtype=bool)
    turn[1:] = buys[1:] != buys[:-1]
    turns = np.flatnonzero(turn)
    bar_price: list[Decimal | None] = [None] * m
    for j, price in zip(turns.tolist(), decimals(bar_open[turns]), strict=True):
        bar_price[j] = price
    # whose fill price has at most 8 decimals (see _Digits)
    bar_round = (np.full(m, True) if slip else on_cent_grid(bar_open)) & prices_round
    bar_q8: list[bool] = bar_round.tolist()

    funding_rate = config.funding_rate
    instants: list[int] = []
    instant_bars: list[int] = []
    if config.funding:
        first = (int(time[0]) // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
        instants = list(range(first, int(time[last]) + 1, FUNDING_INTERVAL_MS))
        instant_bars = np.searchsorted(time, np.asarray(instants, dtype=np.int64)).tolist()
    funded = 0  # instants[:funded] are settled (or fell while flat)
    opens = memoryview(np.ascontiguousarray(shell.open, dtype=np.float64))
    report_every = max(n // 100, 1)
    report_at = report_every

    symbol = shell.symbol
    trades = shell.trades  # the runner's trade_dict of each closed trade, times to come
    entry_ms: list[int] = []
    exit_ms: list[int] = []
    pnls: list[float] = []
    wallet = Decimal(config.initial_balance)
    # equity segments: from candle seg_start[k] on, equity = B + q * (close - E)
    seg_start: list[int] = [0]
    seg_b: list[Decimal] = [wallet]
    seg_q: list[float] = [0.0]
    seg_e: list[float] = [0.0]
    # the open trade (what the engine's Position and Trade would hold; the strings and
    # floats its dict and the equity take); flat: held False
    held = long_held = exact_quote = False
    qty = entry = entry_fee = funding = ZERO
    opened_ms = 0
    qty_text = entry_text = ""
    signed_qty = entry_float = committed = 0.0
    i = 1
    k = 0  # the next signal (index into acting) that may act
    while True:
        if progress is not None and i >= report_at:
            progress(i / n)
            report_at = i + report_every
        at = (next_sell if long_held else next_buy)[k] if held else next_entry[k]
        ending = at >= m  # nothing acts any more: what is open closes at the last close
        if ending:
            if not held:
                break
            i = last
            t = int(time[last])
            price = Decimal(repr(float(shell.close[last])))
            buy = not long_held
            px_q8 = slip and prices_round
        else:
            i = bars[at]
            t = bar_ms[at]
            price = bar_price[at]
            if price is None:
                price = Decimal(repr(float(bar_open[at])))
            buy = is_buy[at]  # a close here is on this side too: an opposite signal
            px_q8 = bar_q8[at]
        # the price of this candle's market fills (the close and the entry take one side)
        px = taker_price(rules, buy, price) if slip else price
        fill = px + ZERO_Q8 if px_q8 else px.quantize(Q8, ROUND_HALF_EVEN)
        quote_q8 = px_q8 and quotes_round  # a quote at px has at most 8 decimals
        fill_text = ""

        if held and instants:  # apply_funding, each instant in (opened, t] in turn
            due = bisect_right(instants, t, funded)
            for slot in range(funded, due):
                if instants[slot] <= opened_ms:
                    continue
                bar = instant_bars[slot]
                mark = Decimal(repr(opens[bar]))
                amount = (-(qty if long_held else -qty) * mark * funding_rate).quantize(
                    Q8, ROUND_HALF_EVEN
                )
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
                    seg_q.append(signed_qty)
                    seg_e.append(entry_float)
            funded = due

        if held:  # fill_futures of the market order closing the position whole
            quote = qty * px if exact_quote else exact_product(qty, px)
            quote8 = quote if quote_q8 and quote < q8_limit else quote.quantize(Q8, ROUND_HALF_EVEN)
            fee = (quote8 * taker).quantize(Q8, ROUND_HALF_UP)
            # -(a - b) * q rounds to -((a - b) * q): a short's PnL without the negation
            realized = ((fill - entry if long_held else entry - fill) * qty).quantize(Q8)
            if realized > 0:
                wallet += realized
            elif realized:  # a loss: the cross wallet absorbs it down to zero, no further
                floor = -wallet if wallet > 0 else -max(wallet, ZERO)
                wallet += realized
                if realized < floor:
                    wallet += floor - realized
            wallet -= fee if fee <= wallet else max(wallet, ZERO)
            # the engine's Trade: fees, net_pnl = realized - fees + funding (realized is
            # never -0 here, so the engine's ZERO + realized is realized itself, and
            # x + ZERO is x)
            fees = entry_fee + fee
            net = realized - fees
            if funding:
                net += funding
            fill_text = str(fill)
            pnl = str(net)
            pnl_float = float(pnl)  # float(Decimal) is float(str(Decimal))
            trades.append(
                {
                    "symbol": symbol,
                    "direction": "long" if long_held else "short",
                    "entry_time": "",  # ISO strings filled in by result(), all at once
                    "exit_time": "",
                    "entry_time_ms": opened_ms,
                    "exit_time_ms": t,
                    "entry_price": entry_text,
                    "exit_price": fill_text,
                    "quantity": qty_text,
                    "fees": str(fees),
                    "funding": str(funding),
                    "pnl": pnl,
                    "return_pct": pnl_float * 100.0 / committed if committed else None,
                    "exit_reason": "end" if ending else "signal",
                }
            )
            entry_ms.append(opened_ms)
            exit_ms.append(t)
            pnls.append(pnl_float)
            held = False
        if ending:
            break

        long = buy
        if long or can_short:  # _place's market branch, sized as the runner's ``enter``
            balance = wallet if wallet_round and wallet < q8_limit else wallet.quantize(Q8)
            margin = balance * share
            size = ZERO
            if margin > 0:
                size = (margin if lev_one else margin * lev) / price
                size = size.quantize(step, ROUND_DOWN) if step_pow10 else round_qty(size, rules)
            refused = True
            if size > 0:
                exact_quote = size < short_below
                quote = size * px if exact_quote else exact_product(size, px)
                refused = (
                    quote < min_notional
                    or (check_bracket and leverage > max_leverage_for(rules, quote))
                    or (quote if lev_one else quote / lev) + quote * taker > wallet
                )
            if refused:
                engine_refusal(shell, wallet, i, long, size)
            else:
                quote8 = (
                    quote if quote_q8 and quote < q8_limit else quote.quantize(Q8, ROUND_HALF_EVEN)
                )
                fee = (quote8 * taker).quantize(Q8, ROUND_HALF_UP)
                held, long_held, qty, opened_ms = True, long, size, t
                entry, entry_fee, funding = fill, fee, ZERO
                wallet -= fee if fee <= wallet else max(wallet, ZERO)
                qty_text = str(size)
                entry_text = fill_text or str(fill)  # a reversal's exit price, when one
                signed_qty = float(qty_text) if long else -float(qty_text)
                entry_float = float(entry_text)
                # the runner's trade_dict: the margin committed, qty * entry / leverage
                committed = float(size * fill if lev_one else size * fill / lev)

        if seg_start[-1] == i:  # a funding instant at this candle: the event supersedes it
            del seg_start[-1], seg_b[-1], seg_q[-1], seg_e[-1]
        seg_start.append(i)
        seg_b.append(wallet)
        seg_q.append(signed_qty if held else 0.0)
        seg_e.append(entry_float if held else 0.0)
        i += 1
        k = at + 1

    segments = (
        np.asarray(seg_start, dtype=np.int64),
        np.fromiter(map(float, seg_b), np.float64, len(seg_b)),
        np.asarray(seg_q, dtype=np.float64),
        np.asarray(seg_e, dtype=np.float64),
    )
    if not _safe(shell, segments):
        return False
    shell.trade_columns = TradeColumns(
        np.asarray(entry_ms, dtype=np.int64),
        np.asarray(exit_ms, dtype=np.int64),
        np.asarray(pnls, dtype=np.float64),
    )
    shell.final_balance = wallet
    shell.fill_equity(segments)
    assert shell.equity is not None
    shell.equity[-1] = float(wallet)
    if progress is not None:
        progress(1.0)
    return True


class _Digits:
    """Where an engine operation's result is one of its operands, by counting digits.

    Exact quotes: a product is exact when the digits of its factors add up to at most the
    precision (28). A price has at most 17 (a float's repr; a slipped price is on the
    tick, and has as many below 10 ** (17 - tick decimals), checked once on the highest
    candle), so a quantity below ``short_below`` (at most 11 digits) multiplies every price
    exactly; another one goes through ``exact_product``, which raises Inexact where the
    engine would round (``run`` then hands the backtest to the engine).

    Roundings to 8 decimals: one changes nothing in a number that has at most 8 and is
    below ``q8_limit`` (the 8 decimals still fit the precision). A price on the cent grid
    has at most 2 (and is below 2 ** 40), a slipped price the tick's (``prices_round``),
    a quote those and the step's (``quotes_round``; its size is checked when it is made),
    and the wallet keeps the 8 of every fee, PnL and funding added to a starting balance
    with at most 8 (``wallet_round``; never negative; its size is checked at each entry).
    A fill price so left unrounded is padded to 8 decimals by adding 0E-8, as the rounding
    would have."""

    def __init__(self, shell: _Shell) -> None:
        rules, pricing = shell.rules, shell.engine.pricing
        context = getcontext().copy()  # the engine's, raising where it would round
        context.clear_flags()
        context.traps[Inexact] = True
        self.exact_product = context.multiply
        slip = pricing.mode == "bps"
        tick_exponent = rules.tick_size.as_tuple().exponent
        price_top = 2.0**40  # a cent-grid price's, and a slipped one's when it fits
        prices_fit = True
        if slip:
            highest = max(np.abs(shell.open).max(), abs(shell.close[-1])) * float(pricing.up)
            price_top = 10.0 ** (PRICE_DIGITS + tick_exponent)
            prices_fit = bool((highest + float(rules.tick_size)) * 1.001 < price_top)
        step_exponent = rules.step_size.as_tuple().exponent  # a quantity's: on the step
        short = context.prec - PRICE_DIGITS + step_exponent
        self.short_below = Decimal(1).scaleb(short) if prices_fit else ZERO
        self.q8_limit = Decimal(1).scaleb(context.prec + Q8.as_tuple().exponent)
        price_exponent = tick_exponent if slip else -2
        self.prices_round = (
            prices_fit and price_exponent >= -8 and price_top <= float(self.q8_limit)
        )
        self.quotes_round = self.prices_round and step_exponent + price_exponent >= -8
        start = Decimal(shell.config.initial_balance)
        self.wallet_round = start >= 0 and start.as_tuple().exponent >= -8


def decimals(values: np.ndarray) -> list[Decimal]:
    """``Decimal(repr(x))`` of each float (what the engine's MarketSnapshot gets: the
    runner's ``_dec``), without repr's digit search for prices on a cent grid.

    When x is the double nearest to c / 100 for an integer c and 0.01 <= x < 2**40, two
    decimals that both round to x are less than a double's spacing there (< 1e-4) apart,
    so no decimal with as few digits as c / 100 but another value rounds to x: repr(x) is
    c / 100 written out, two decimals or one when c ends in 0 ("61234.5", "61234.0")."""
    values = np.asarray(values, dtype=np.float64)
    grid = on_cent_grid(values)
    whole = np.rint(np.where(grid, values, 0.0) * 100.0).astype(np.int64)
    tenths = whole % 10 == 0
    digits = map(Decimal, np.where(tenths, whole // 10, whole).tolist())
    # an exact product: the digits, with the exponent of 0.1 or 0.01
    out = list(map(mul, digits, np.where(tenths, TENTH, HUNDREDTH).tolist()))
    for k in np.flatnonzero(~grid).tolist():
        out[k] = Decimal(repr(float(values[k])))
    return out


def on_cent_grid(values: np.ndarray) -> np.ndarray:
    """Which floats are the double nearest to a whole number of cents, in [0.01, 2**40):
    the prices ``decimals`` writes out itself (at most 2 decimals)."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge ones are not on the grid
        cents = np.rint(values * 100.0)
        return (values >= 0.01) & (values < 2.0**40) & (cents / 100.0 == values)


def _next_of(mask: np.ndarray) -> list[int]:
    """For each k in 0..len(mask): the smallest k' >= k with mask[k'] (len(mask) if none)."""
    found = np.flatnonzero(mask)
    return np.append(found, len(mask))[np.searchsorted(found, np.arange(len(mask) + 1))].tolist()


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
