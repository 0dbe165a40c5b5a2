"""The paper-trading core: Binance spot and USD-M rules in pure Python (no ORM, no I/O).

One core, two shells (docs: DESIGN.md "The paper engine"): the ORM shell loads an
AccountState from its rows inside one transaction with row locks, calls the Engine and
saves what the Result lists; the backtester keeps the AccountState in memory and feeds
candles. The core is deterministic: time comes from the snapshot or the caller, ids from
counters in the state, and the same inputs always give the same outputs.

Modules
    types        dataclasses: MarketRules / Bracket, FeeSchedule, SlippageModel,
                 MarketSnapshot, OrderRequest, Order, Fill, Position, SymbolSettings, Trade,
                 LedgerEntry, AccountState, Result, the events, Rule, EngineRefusal
    rules        step / tick rounding, Binance's leverage brackets, rules_for()
    margin       initial / maintenance margin, PnL, liquidation price, available balance,
                 account_summary(), position_risk()
    engine       Engine: place_order, cancel_order, on_price, on_candle, apply_funding,
                 open_trade, close_trade, update_trade_protection, set_leverage,
                 set_margin_type, deposit, reset; funding_due()
    pricing      the slippage model (book walk, bps, off) and Binance's trigger rule
    fills        what one execution does to balances, position, trade and order
    liquidation  isolated and cross liquidation on the mark price
    candles      a candle as a price path through every level of interest
    records      bookkeeping: the one balance-changing helper (credit), locks, order
                 ends, trade opening / closing
    invariants   problems(state, ledger): the consistency checks the tests assert

State in, state out
    Every Engine method changes the AccountState it is given in place and returns a
    Result: events (for notifications), fills, ledger entries, and the orders, trades,
    positions, settings and assets it touched (so the shell persists only those, plus the
    account's counters next_*_id and funding_ms). AccountState holds open orders and open
    trades only; records that closed are in the Result and leave the state. A refused
    place_order changes nothing: the Result carries a REJECTED order with id 0 (no id is
    consumed) and an OrderRejected event naming the Rule. Other refusals (cancel of an
    unknown order, bad leverage, a stop on the wrong side...) raise EngineRefusal before
    any change. AccountState.marks / prices are the last mark and last price seen per
    symbol (on_price writes them; cross margin values the other positions at them): a
    shell that does not persist them fills them from its price cache when it loads.
    Orders, trades and fills take ids from three counters in the state.

Decisions
    One USDT balance. Spot and USD-M futures share a single USDT balance (a paper account
        has no transfers to make); it includes the isolated wallets, like Binance's futures
        walletBalance. Cross wallet = USDT balance - isolated wallets. Available USDT (for
        spot buys, new margin and fees) = balance - isolated wallets - cross initial margin
        at mark - USDT locked by open orders + unrealized cross PnL if it is a loss
        (unrealized profit is not spendable: conservative).
    Ledger. Every balance change is one LedgerEntry (deposit, trade, fee, realized_pnl,
        funding, liquidation, insurance, reset), written by the same helper that changes
        the balance, so sum(ledger[asset]) == balances[asset] always. Locking funds for open
        orders is not a balance change (AccountState.locked).
    Quantization. Quantities are rounded down to the step (never overfill); LIMIT prices to
        the tick in the trader's favour (buy down, sell up), stop prices half-up. Balances,
        fees, PnL, funding and ledger amounts are 8 dp: spot cost rounded up, proceeds
        down, fees half-up, PnL half-even. Average fill / entry / exit prices are 8 dp; a
        fill's quote_qty is the exact sum over the book levels it took, at 8 dp.
    Fees. Binance's VIP 0 rates: spot 0.1 % maker and taker, charged in the asset received
        (buying 0.1 BTC credits 0.0999 BTC); futures 0.02 % maker / 0.05 % taker in USDT
        from the cross wallet. Resting limit orders pay maker, everything that executes on
        arrival (market, marketable limit, triggered stop, trade close) pays taker.
    Slippage. "book" walks the snapshot's book (a market order larger than the book takes
        its rest at the last level's price; no book: the snapshot price); "bps" moves the
        price against the taker and rounds it to the tick against the taker; "off" uses the
        snapshot price. Resting limits always fill whole at their limit price when the
        last price (or the best opposite book level) reaches it.
    Orders. MARKET, LIMIT (GTC / IOC / FOK / GTX = post-only), STOP_MARKET and
        TAKE_PROFIT_MARKET (trigger on the last price, or the mark with
        WorkingType.MARK_PRICE; Binance's rule: STOP buys at >= stop, sells at <= stop,
        TAKE_PROFIT the other way; an order that would trigger at once is refused).
        reduce_only / close_position orders are futures-only, are clipped to the position,
        expire when it goes flat and are exempt from min notional (as on Binance); so are
        a trade's own closing orders. Resting orders lock what they need: spot buy the
        quote, spot sell the base, futures limits the initial margin of the part that would
        open exposure (stop orders lock nothing on futures, as Binance's conditional
        orders). Funds are checked again when a resting order executes; if they are gone
        the order EXPIRES naming the rule.
    Futures. One-way mode, one Position per symbol. Opening or adding averages the entry
        price; reducing realizes (exit - entry) * qty * side; crossing zero closes then
        opens the rest. ISOLATED positions move qty * price / leverage into their isolated
        wallet on open and release it pro rata on reduce. Leverage is checked against
        1..max of the bracket holding the resulting notional. Trades follow positions: a
        Trade opens when a position opens from flat and closes when it is flat again.
    Spot trades. A spot fill makes a Trade only when the order was placed by open_trade
        (OrderRequest.opens_trade); spot has no positions and no shorting.
    Liquidation. On the mark price, after orders and trade protection. Isolated: when the
        mark crosses the position's liquidation price the position closes there and the
        trader loses the whole isolated wallet (the realized loss, the rest as clearance
        fee). Cross: when the cross margin balance falls to the maintenance margin (or the
        symbol's mark crosses its liquidation price) every cross position closes, the
        triggering one at its liquidation price and the others at their marks, with a fee
        of notional * liquidation_fee_rate (1.25 % by default), never more than the cross
        wallet holds. A loss beyond the margin (a price gap) is absorbed by an "insurance"
        ledger entry: no balance ever goes negative. The liquidation shows as a FILLED
        MARKET order with client id "autoclose-<id>", like Binance's.
    Funding. apply_funding(symbol, rate, mark, time) pays |qty| * mark * rate: longs pay
        shorts when the rate is positive. It is idempotent per instant (funding_ms); cross
        positions settle in the cross wallet, isolated ones in their isolated wallet.
        funding_due(last, now) lists the 00:00 / 08:00 / 16:00 UTC instants in between.
    Trade protection. Stop-loss, take-profit and a trailing stop (percent from the best
        price since it was set) live on the Trade. Each snapshot updates the watermark
        first, then checks stop-loss, trailing stop, take-profit in that order: the stop
        wins when both could trigger.
    Candles. on_candle walks open -> adverse extreme -> other extreme -> close (adverse for
        the open position; with none, a green candle goes via the low first, a red one via
        the high), visiting every order / stop / target / trailing / liquidation level on
        the way at exactly its price: stop before target, liquidation at the adverse
        extreme, stops fill at their level (or at the open after a gap).
    Idempotence. on_price with the same snapshot twice changes nothing the second time:
        what crossed has filled, watermarks only move forward, what was liquidated is gone.
"""

from .engine import KEEP, Engine, funding_due
from .margin import (
    AccountSummary,
    PositionRisk,
    account_summary,
    liquidation_price,
    position_liquidation_price,
    position_risk,
)
from .rules import (
    brackets_for,
    default_rules,
    meets_min_notional,
    round_price,
    round_qty,
    rules_for,
)
from .types import (
    AccountState,
    Bracket,
    CloseReason,
    Direction,
    EngineRefusal,
    FeeSchedule,
    Fill,
    FundingApplied,
    LedgerEntry,
    LedgerKind,
    Liquidated,
    MarginType,
    Market,
    MarketRules,
    MarketSnapshot,
    Order,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Protection,
    Result,
    Rule,
    Side,
    SlippageModel,
    Source,
    SymbolSettings,
    TimeInForce,
    Trade,
    TradeClosed,
    TradeOpened,
    TradeStatus,
    WorkingType,
)

__all__ = [
    "KEEP",
    "AccountState",
    "AccountSummary",
    "Bracket",
    "CloseReason",
    "Direction",
    "Engine",
    "EngineRefusal",
    "FeeSchedule",
    "Fill",
    "FundingApplied",
    "LedgerEntry",
    "LedgerKind",
    "Liquidated",
    "MarginType",
    "Market",
    "MarketRules",
    "MarketSnapshot",
    "Order",
    "OrderCanceled",
    "OrderFilled",
    "OrderRejected",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionRisk",
    "Protection",
    "Result",
    "Rule",
    "Side",
    "SlippageModel",
    "Source",
    "SymbolSettings",
    "TimeInForce",
    "Trade",
    "TradeClosed",
    "TradeOpened",
    "TradeStatus",
    "WorkingType",
    "account_summary",
    "brackets_for",
    "default_rules",
    "funding_due",
    "liquidation_price",
    "meets_min_notional",
    "position_liquidation_price",
    "position_risk",
    "round_price",
    "round_qty",
    "rules_for",
]
