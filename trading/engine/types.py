"""The paper engine's vocabulary: market rules, requests, state, outputs and events.

Everything here is a plain dataclass with slots and Decimal money; nothing touches the ORM
or the network. Mutable records (Order, Position, Trade, AccountState) are changed in place
by the Engine; the records it changed are listed in the Result it returns, so a shell can
persist exactly those. Enumerations are StrEnums whose values are the strings Binance (or
our own API) uses, so a shell may pass either the member or its string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from trading.exchange.base import OrderBook

ZERO = Decimal(0)


class Market(StrEnum):
    SPOT = "spot"
    FUTURES = "futures"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"  # post-only


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


class WorkingType(StrEnum):
    """Which price a stop / take-profit order watches (Binance's workingType)."""

    CONTRACT_PRICE = "CONTRACT_PRICE"  # the last price
    MARK_PRICE = "MARK_PRICE"


class MarginType(StrEnum):
    ISOLATED = "ISOLATED"
    CROSSED = "CROSSED"


class Direction(StrEnum):
    LONG = "long"
    SHORT = "short"


class TradeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    LIQUIDATED = "liquidated"


class CloseReason(StrEnum):
    MANUAL = "manual"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    LIQUIDATION = "liquidation"
    REDUCE = "reduce"  # an ordinary order took the position to flat (or flipped it)
    RESET = "reset"


class Source(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"
    API = "api"


class LedgerKind(StrEnum):
    DEPOSIT = "deposit"
    TRADE = "trade"  # spot: the asset bought or sold and the quote paid or received
    FEE = "fee"  # trading commission (in the received asset on spot, USDT on futures)
    REALIZED_PNL = "realized_pnl"  # futures: profit or loss realized by reducing a position
    FUNDING = "funding"
    LIQUIDATION = "liquidation"  # the liquidation clearance fee
    INSURANCE = "insurance"  # a loss beyond the margin, absorbed so no balance goes negative
    RESET = "reset"


class Rule(StrEnum):
    """The rule an order or request broke; every rejection names one."""

    SYMBOL = "symbol"
    MARKET = "market"
    ORDER_TYPE = "order_type"
    QUANTITY = "quantity"  # missing, not positive, or zero once rounded down to the step
    PRICE = "price"
    STOP_PRICE = "stop_price"
    TIME_IN_FORCE = "time_in_force"
    CLIENT_ORDER_ID = "client_order_id"  # duplicate among open orders
    MIN_NOTIONAL = "min_notional"
    INSUFFICIENT_BALANCE = "insufficient_balance"  # spot
    SPOT_SHORT = "spot_short"  # selling on spot what is not held
    INSUFFICIENT_MARGIN = "insufficient_margin"  # futures
    LEVERAGE = "leverage"
    MARGIN_TYPE = "margin_type"
    NO_CHANGE = "no_need_to_change"  # margin type already set (Binance -4046)
    POSITION_OPEN = "position_open"  # margin type change with a position (Binance -4048)
    OPEN_ORDERS = "open_orders"  # margin type change with open orders (Binance -4047)
    REDUCE_ONLY = "reduce_only"
    POST_ONLY = "post_only_would_take"
    WOULD_TRIGGER = "would_trigger_immediately"
    PROTECTION = "protection"  # stop-loss / take-profit / trailing on the wrong side
    UNKNOWN_ORDER = "unknown_order"
    UNKNOWN_TRADE = "unknown_trade"
    NO_LIQUIDITY = "no_liquidity"  # IOC / FOK found nothing to fill within the limit


class EngineRefusal(Exception):
    """A request outside place_order (cancel, close, leverage...) that the core refuses.

    Raised before any state changes. `rule` names the broken rule (a Rule value).
    """

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


# --------------------------------------------------------------------------- market rules


@dataclass(frozen=True, slots=True)
class Bracket:
    """One tier of a symbol's leverage / maintenance-margin table (notional in USDT)."""

    floor: Decimal
    cap: Decimal
    max_leverage: int
    mmr: Decimal  # maintenance margin rate
    cum: Decimal  # maintenance amount: MM = notional * mmr - cum


@dataclass(frozen=True, slots=True)
class MarketRules:
    """Trading filters of one symbol, as on Binance (tick, step, min notional, brackets)."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_notional: Decimal
    max_leverage: int
    brackets: tuple[Bracket, ...]
    # derived: a power-of-ten step / tick rounds with one quantize (the hot path)
    step_pow10: bool = field(init=False, repr=False, compare=False)
    tick_pow10: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "step_pow10", _is_pow10(self.step_size))
        object.__setattr__(self, "tick_pow10", _is_pow10(self.tick_size))


def _is_pow10(value: Decimal) -> bool:
    return value > 0 and value.normalize().as_tuple().digits == (1,)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Commission rates (fractions): Binance's base VIP 0 tier, and the liquidation fee."""

    spot_maker: Decimal = Decimal("0.001")
    spot_taker: Decimal = Decimal("0.001")
    futures_maker: Decimal = Decimal("0.0002")
    futures_taker: Decimal = Decimal("0.0005")
    liquidation_fee_rate: Decimal = Decimal("0.0125")


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """How a taker fill is priced.

    - "book": walk the snapshot's order book and fill at the volume-weighted price of the
      levels consumed (a market order larger than the book fills its rest at the last
      level's price; without a book the snapshot price is used);
    - "bps": the snapshot price moved `bps` basis points against the taker, rounded to the
      tick against the taker;
    - "off": the snapshot price.
    """

    mode: str = "book"
    bps: Decimal = Decimal("5")


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """What the market looked like at `time_ms`: last price, mark price, optional book."""

    symbol: str
    price: Decimal
    time_ms: int
    mark_price: Decimal | None = None  # defaults to `price`
    book: OrderBook | None = None

    @property
    def mark(self) -> Decimal:
        return self.price if self.mark_price is None else self.mark_price


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Protection:
    """Stop-loss / take-profit prices and trailing-stop percent for a trade (None = off)."""

    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    trailing_stop_pct: Decimal | None = None  # percent, e.g. Decimal("2") = 2 %


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order as a client asks for it (Binance's newOrder parameters).

    quantity is in base units; quote_quantity (spot MARKET only) spends / raises that much
    quote like Binance's quoteOrderQty. leverage / margin_type (futures) are applied to the
    symbol's settings when the order is accepted, as if POST /fapi/v1/leverage had been
    called first. opens_trade (spot) records the fill as a Trade, as the friendly API does;
    futures fills always belong to the position's Trade. protection is copied onto that
    Trade when the order fills.
    """

    symbol: str
    market: Market
    side: Side
    type: OrderType = OrderType.MARKET
    quantity: Decimal | None = None
    quote_quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    close_position: bool = False
    client_order_id: str = ""
    leverage: int | None = None
    margin_type: MarginType | None = None
    working_type: WorkingType = WorkingType.CONTRACT_PRICE
    source: Source = Source.API
    strategy: str = ""
    opens_trade: bool = False
    protection: Protection | None = None


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class Order:
    """An order's record. id 0 means none was assigned: the order was rejected.

    reserved is what the open order holds back from the available balance: quote (spot
    buy), base (spot sell) or initial margin in USDT (futures); it is released when the
    order fills, is canceled or expires.
    """

    id: int
    symbol: str
    market: Market
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce
    reduce_only: bool
    close_position: bool
    client_order_id: str
    status: OrderStatus
    created_ms: int
    updated_ms: int
    quote_quantity: Decimal | None = None
    working_type: WorkingType = WorkingType.CONTRACT_PRICE
    leverage: int = 0
    source: Source = Source.API
    strategy: str = ""
    opens_trade: bool = False
    protection: Protection | None = None
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    avg_price: Decimal = ZERO
    reject_reason: str = ""  # a Rule value for REJECTED / EXPIRED orders
    reject_message: str = ""
    reserved: Decimal = ZERO
    reserved_asset: str = ""
    trade_id: int | None = None
    close_reason: CloseReason | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(slots=True)
class Fill:
    """One execution: price is the average of the levels consumed, quote_qty exact."""

    id: int
    order_id: int
    symbol: str
    market: Market
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    realized_pnl: Decimal
    time_ms: int
    trade_id: int | None = None


@dataclass(slots=True)
class SymbolSettings:
    """Per-symbol futures settings, Binance's defaults: 20x cross."""

    leverage: int = 20
    margin_type: MarginType = MarginType.CROSSED


@dataclass(slots=True)
class Position:
    """A USD-M futures position in one-way mode: quantity > 0 long, < 0 short.

    isolated_wallet is the margin set aside for an ISOLATED position (part of the USDT
    balance, not spendable elsewhere); it is 0 for CROSSED.
    """

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    leverage: int
    margin_type: MarginType
    isolated_wallet: Decimal
    opened_ms: int
    updated_ms: int
    realized_pnl: Decimal = ZERO
    trade_id: int | None = None


@dataclass(slots=True)
class Trade:
    """A position's life from open to flat (futures) or one bought lot (spot).

    quantity is what is still open (base units), entered_qty / exited_qty the totals;
    entry_price and exit_price are averages. realized_pnl is gross of fees, as Binance
    reports it; fees (quote-asset value) and funding are kept beside it, so the net result
    is realized_pnl - fees + funding. watermark is the best price seen since the trailing
    stop was set (highest for a long, lowest for a short).
    """

    id: int
    symbol: str
    market: Market
    direction: Direction
    quantity: Decimal
    entry_price: Decimal
    opened_ms: int
    source: Source = Source.API
    strategy: str = ""
    status: TradeStatus = TradeStatus.OPEN
    entered_qty: Decimal = ZERO
    exited_qty: Decimal = ZERO
    exit_price: Decimal = ZERO
    closed_ms: int | None = None
    close_reason: CloseReason | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    trailing_stop_pct: Decimal | None = None
    watermark: Decimal | None = None
    fees: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    funding: Decimal = ZERO
    leverage: int = 1
    margin_type: MarginType | None = None

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees + self.funding


@dataclass(slots=True)
class LedgerEntry:
    """One balance change. For every asset, sum(amount) == balance, always."""

    asset: str
    amount: Decimal
    kind: LedgerKind
    time_ms: int
    symbol: str = ""
    order_id: int | None = None
    trade_id: int | None = None


@dataclass(slots=True)
class AccountState:
    """Everything the core needs about one paper account, and nothing else.

    balances hold each asset's total (free + locked). One USDT balance serves spot and
    USD-M futures alike, and includes isolated wallets: USDT cross wallet = balance -
    sum(isolated_wallet). locked[asset] == sum(order.reserved) over open orders.
    orders and trades hold only open ones; closed records leave the state through a
    Result. marks / prices are the last mark and last price seen per symbol (on_price).
    funding_ms is the last funding instant applied per symbol (apply_funding is
    idempotent).
    """

    balances: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    settings: dict[str, SymbolSettings] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    trades: dict[int, Trade] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    funding_ms: dict[str, int] = field(default_factory=dict)
    next_order_id: int = 1
    next_trade_id: int = 1
    next_fill_id: int = 1


# --------------------------------------------------------------------------- events


@dataclass(slots=True)
class OrderFilled:
    order: Order
    fill: Fill


@dataclass(slots=True)
class OrderRejected:
    order: Order
    rule: Rule
    message: str


@dataclass(slots=True)
class OrderCanceled:
    """An open order ended without (fully) filling: CANCELED or EXPIRED (see status)."""

    order: Order
    reason: str


@dataclass(slots=True)
class TradeOpened:
    trade: Trade


@dataclass(slots=True)
class TradeClosed:
    trade: Trade
    reason: CloseReason


@dataclass(slots=True)
class Liquidated:
    symbol: str
    margin_type: MarginType
    quantity: Decimal  # signed, as the position was
    price: Decimal
    realized_pnl: Decimal
    fee: Decimal
    trade_id: int | None
    time_ms: int


@dataclass(slots=True)
class FundingApplied:
    symbol: str
    rate: Decimal
    mark_price: Decimal
    amount: Decimal  # signed: received > 0, paid < 0
    time_ms: int


Event = (
    OrderFilled
    | OrderRejected
    | OrderCanceled
    | TradeOpened
    | TradeClosed
    | Liquidated
    | FundingApplied
)


@dataclass(slots=True, init=False)
class Result:
    """What one engine call did, for the shell to persist and notify about.

    orders / trades: every record created or changed (closed ones are no longer in the
    state). positions / settings: symbols whose Position / SymbolSettings changed (a
    symbol absent from state.positions means the position is gone). assets: balances that
    changed. order: the order a place_order-like call created (also when REJECTED).
    """

    events: list[Event]
    fills: list[Fill]
    ledger: list[LedgerEntry]
    orders: dict[int, Order]
    trades: dict[int, Trade]
    positions: set[str]
    settings: set[str]
    order: Order | None

    def __init__(self) -> None:  # literals: cheaper than default factories on the hot path
        self.events = []
        self.fills = []
        self.ledger = []
        self.orders = {}
        self.trades = {}
        self.positions = set()
        self.settings = set()
        self.order = None

    @property
    def assets(self) -> set[str]:
        """The assets whose balance changed (each change is a ledger entry)."""
        return {entry.asset for entry in self.ledger}

    @property
    def changed(self) -> bool:
        return bool(
            self.events
            or self.fills
            or self.ledger
            or self.orders
            or self.trades
            or self.positions
            or self.settings
        )
