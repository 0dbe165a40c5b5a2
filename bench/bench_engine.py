"""Paper-engine core timings, in memory: `python -m bench engine`.

- market fills per second through Engine.place_order (goal >= 100,000/s): spot buy/sell,
  spot through a 3-level book, futures open/close, futures adding to one position, and
  isolated open/close; every call is a full order: validation, margin / balance check,
  fill, ledger entries, events and records;
- resting limit orders per tick: Engine.on_price over 1,000 resting orders that the price
  does not reach, and a tick that fills 200 of them (maker fills per second);
- liquidation prices per second: the bare formula with bracket iteration, and an
  account-level one for a cross position beside four others.

Figures are per second of process CPU time (the machine is shared; wall time is printed
beside it), best of RUNS runs (BENCH_RUNS, default 5). Needs no Django settings.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal as D

from trading.engine import (
    AccountState,
    Engine,
    MarginType,
    Market,
    MarketSnapshot,
    OrderRequest,
    OrderType,
    Side,
    SlippageModel,
    liquidation_price,
    position_liquidation_price,
    rules_for,
)
from trading.exchange.base import OrderBook

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
GOAL_FILLS = 100_000
BTC = "BTCUSDT"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT")
PRICES = {"BTCUSDT": "30000", "ETHUSDT": "2000", "BNBUSDT": "300", "SOLUSDT": "100"}
PRICES["XRPUSDT"] = "0.5"


def _account(engine: Engine, usdt: str = "1000000000") -> AccountState:
    state = AccountState()
    engine.deposit(state, "USDT", D(usdt), 0)
    return state


def _measure(work: Callable[[], int]) -> tuple[float, float]:
    """(best units / CPU second, median units / wall second) over RUNS runs of `work`.

    `work` returns how many units it did.
    """
    cpu_rates: list[float] = []
    wall_rates: list[float] = []
    work()  # warm-up: first-call costs
    for _ in range(RUNS):
        cpu, wall = time.process_time(), time.perf_counter()
        units = work()
        cpu_rates.append(units / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(units / max(time.perf_counter() - wall, 1e-9))
    return max(cpu_rates), statistics.median(wall_rates)


# --------------------------------------------------------------------------- market fills


def _alternating(engine: Engine, first: OrderRequest, second: OrderRequest, snap, n: int):
    def work() -> int:
        state = _account(engine)
        for _ in range(n // 2):
            engine.place_order(state, first, snap)
            engine.place_order(state, second, snap)
        return n

    return work


def _adding(engine: Engine, request: OrderRequest, snap, n: int):
    def work() -> int:
        state = _account(engine)
        for _ in range(n):
            engine.place_order(state, request, snap)
        return n

    return work


def _isolated(engine: Engine, n: int):
    buy = OrderRequest(BTC, Market.FUTURES, Side.BUY, quantity=D("0.01"))
    sell = OrderRequest(BTC, Market.FUTURES, Side.SELL, quantity=D("0.01"))
    snap = MarketSnapshot(BTC, D("30000"), 1)

    def work() -> int:
        state = _account(engine)
        engine.set_margin_type(state, BTC, MarginType.ISOLATED)
        for _ in range(n // 2):
            engine.place_order(state, buy, snap)
            engine.place_order(state, sell, snap)
        return n

    return work


def market_fill_rows(n: int = 20_000) -> list[list[str]]:
    off = Engine(slippage=SlippageModel(mode="off"))
    book_engine = Engine(slippage=SlippageModel(mode="book"))
    snap = MarketSnapshot(BTC, D("30000"), 1)
    book = OrderBook(
        BTC,
        bids=((D("29999.99"), D("0.004")), (D("29999.5"), D("0.004")), (D("29999"), D(5))),
        asks=((D("30000.01"), D("0.004")), (D("30000.5"), D("0.004")), (D("30001"), D(5))),
        timestamp_ms=1,
    )
    booked = MarketSnapshot(BTC, D("30000"), 1, book=book)
    spot_buy = OrderRequest(BTC, Market.SPOT, Side.BUY, quantity=D("0.01"))
    spot_sell = OrderRequest(BTC, Market.SPOT, Side.SELL, quantity=D("0.00999"))
    fut_buy = OrderRequest(BTC, Market.FUTURES, Side.BUY, quantity=D("0.01"))
    fut_sell = OrderRequest(BTC, Market.FUTURES, Side.SELL, quantity=D("0.01"))
    cases = [
        ("spot market buy / sell", _alternating(off, spot_buy, spot_sell, snap, n)),
        ("spot market, 3-level book", _alternating(book_engine, spot_buy, spot_sell, booked, n)),
        ("futures cross open / close", _alternating(off, fut_buy, fut_sell, snap, n)),
        ("futures cross add to position", _adding(off, fut_buy, snap, n)),
        ("futures isolated open / close", _isolated(off, n)),
    ]
    rows = []
    for name, work in cases:
        cpu, wall = _measure(work)
        rows.append([name, f"{cpu:,.0f}", f"{wall:,.0f}", "ok" if cpu >= GOAL_FILLS else "MISSED"])
    return rows


# --------------------------------------------------------------------------- resting limits


def _resting_book(engine: Engine, orders: int) -> AccountState:
    """`orders` resting futures limits spread over the five symbols, 2-10 % from the price."""
    state = _account(engine)
    for i in range(orders):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        rules = rules_for(symbol)
        price = D(PRICES[symbol])
        buy = i % 2 == 0
        offset = D(1) + (D(-1) if buy else D(1)) * D(2 + i % 9) / 100
        limit = (price * offset).quantize(rules.tick_size)
        qty = max((D(20) / limit).quantize(rules.step_size), rules.step_size)
        side = Side.BUY if buy else Side.SELL
        request = OrderRequest(symbol, Market.FUTURES, side, OrderType.LIMIT, qty, price=limit)
        result = engine.place_order(state, request, MarketSnapshot(symbol, price, 1))
        assert result.order is not None and result.order.id, result.order
    return state


def limit_rows(orders: int = 1_000, ticks: int = 2_000) -> list[list[str]]:
    engine = Engine(slippage=SlippageModel(mode="off"))
    quiet = [MarketSnapshot(s, D(PRICES[s]), 2) for s in SYMBOLS]

    def no_fill() -> int:
        state = _resting_book(engine, orders)
        for i in range(ticks):
            engine.on_price(state, quiet[i % len(quiet)])
        return ticks

    cpu, wall = _measure(no_fill)
    per_tick = orders / len(SYMBOLS)
    rows = [
        [
            f"tick, {orders:,} resting, none crossed",
            f"{cpu:,.0f} ticks/s",
            f"{wall:,.0f} ticks/s",
            f"{1e6 / cpu:.1f} us/tick ({per_tick:.0f} orders of the symbol checked)",
        ]
    ]

    def filling() -> int:
        state = _resting_book(engine, orders)
        # BTC falls 11 %: every BTC buy limit (100 of them) crosses and fills as maker
        res = engine.on_price(state, MarketSnapshot(BTC, D("26700"), 3))
        # ETH rises 11 %: every ETH sell limit (100) crosses
        res2 = engine.on_price(state, MarketSnapshot("ETHUSDT", D("2220"), 4))
        return len(res.fills) + len(res2.fills)

    filled = filling()
    fill_cpu, fill_wall = _measure_excluding_setup(engine, orders)
    rows.append(
        [
            f"ticks filling {filled} resting limits",
            f"{fill_cpu:,.0f} fills/s",
            f"{fill_wall:,.0f} fills/s",
            "maker fills at the limit price",
        ]
    )
    return rows


def _measure_excluding_setup(engine: Engine, orders: int) -> tuple[float, float]:
    """Maker fills per second of the two crossing ticks alone (the book is built untimed)."""
    cpu_rates: list[float] = []
    wall_rates: list[float] = []
    for _ in range(RUNS):
        state = _resting_book(engine, orders)
        cpu, wall = time.process_time(), time.perf_counter()
        fills = len(engine.on_price(state, MarketSnapshot(BTC, D("26700"), 3)).fills)
        fills += len(engine.on_price(state, MarketSnapshot("ETHUSDT", D("2220"), 4)).fills)
        cpu_rates.append(fills / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(fills / max(time.perf_counter() - wall, 1e-9))
    return max(cpu_rates), statistics.median(wall_rates)


# --------------------------------------------------------------------------- liquidation


def liquidation_rows(n: int = 50_000) -> list[list[str]]:
    brackets = rules_for(BTC).brackets

    def formula() -> int:
        for i in range(n):
            liquidation_price(
                quantity=D(10) if i % 2 else D(-10),
                entry_price=D(30000),
                wallet_balance=D(15000),
                brackets=brackets,
            )
        return n

    engine = Engine(slippage=SlippageModel(mode="off"))
    state = _account(engine, "1000000")
    for symbol in SYMBOLS:
        price = D(PRICES[symbol])
        qty = (D(20000) / price).quantize(rules_for(symbol).step_size)
        request = OrderRequest(symbol, Market.FUTURES, Side.BUY, quantity=qty)
        engine.place_order(state, request, MarketSnapshot(symbol, price, 1))
    assert len(state.positions) == len(SYMBOLS)

    def account(m: int = n // 5) -> int:
        for _ in range(m):
            position_liquidation_price(state, engine.rules, BTC)
        return m

    rows = []
    for name, work in (
        ("formula, iterating brackets (isolated)", formula),
        ("cross position beside 4 others", account),
    ):
        cpu, wall = _measure(work)
        rows.append([name, f"{cpu:,.0f}/s", f"{wall:,.0f}/s", ""])
    return rows


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    cells = [header, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for number, row in enumerate(cells):
        first, *rest = row
        padded = [cell.rjust(width) for cell, width in zip(rest[:-1], widths[1:-1], strict=True)]
        print("  ".join([first.ljust(widths[0]), *padded, rest[-1]]))
        if number == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    print(f"best of {RUNS} runs; rates per CPU second (wall: median per wall second)\n")
    print(f"Market fills through place_order (goal >= {GOAL_FILLS:,}/s)")
    _print_table(["case", "fills/s CPU", "fills/s wall", "goal"], market_fill_rows())
    print("\nResting limit orders, Engine.on_price")
    _print_table(["case", "CPU", "wall", "note"], limit_rows())
    print("\nLiquidation prices")
    _print_table(["case", "CPU", "wall", ""], liquidation_rows())


if __name__ == "__main__":
    main()
