"""The paper-trading core: orders, fills, positions, trades, liquidation and funding.

`Engine` holds only configuration (fees, slippage, market rules); every method takes the
AccountState to act on, changes it in place and returns a Result listing what changed,
the fills, the ledger entries and the events. Nothing here reads a clock, a database or
the network: time comes from the snapshot or the caller, so the same inputs always give
the same outputs. See trading/engine/__init__.py for the decisions this module encodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal

from .candles import candle_path, next_level
from .fills import execute
from .liquidation import check_liquidation
from .margin import USDT, available_usdt, cross_wallet
from .pricing import Pricing, book_crosses, triggered
from .records import credit, end_order, finish_trade, lock, trail_level, unlock
from .rules import default_rules, max_leverage_for, meets_min_notional, round_price, round_qty
from .types import (
    ZERO,
    AccountState,
    CloseReason,
    Direction,
    EngineRefusal,
    FeeSchedule,
    FundingApplied,
    LedgerKind,
    MarginType,
    Market,
    MarketRules,
    MarketSnapshot,
    Order,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    Protection,
    Result,
    Rule,
    Side,
    SlippageModel,
    Source,
    SymbolSettings,
    TimeInForce,
    Trade,
    WorkingType,
)

Q8 = Decimal("0.00000001")
FUNDING_INTERVAL_MS = 8 * 3600 * 1000

_BUY = Side.BUY
_SELL = Side.SELL
_SPOT = Market.SPOT
_FUTURES = Market.FUTURES
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_STOP = OrderType.STOP_MARKET
_TAKE = OrderType.TAKE_PROFIT_MARKET
_ISOLATED = MarginType.ISOLATED
_CROSSED = MarginType.CROSSED
_NEW = OrderStatus.NEW
_FILLED = OrderStatus.FILLED
_LONG = Direction.LONG
_DEFAULT_SETTINGS = SymbolSettings()


class _Keep:
    """Sentinel: leave this protection field as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()

Refusal = tuple[Rule, str]


def funding_due(last_ms: int, now_ms: int) -> list[int]:
    """The funding instants (00:00, 08:00, 16:00 UTC) in (last_ms, now_ms], oldest first."""
    first = (last_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    return list(range(first, now_ms + 1, FUNDING_INTERVAL_MS))


class Engine:
    """Applies Binance's spot and USD-M rules to an AccountState.

    fees: commission rates; slippage: how taker fills are priced; rules: MarketRules per
    symbol (the shipped catalogue when omitted).
    """

    __slots__ = ("fees", "pricing", "rules", "slippage")

    def __init__(
        self,
        fees: FeeSchedule | None = None,
        slippage: SlippageModel | None = None,
        rules: Mapping[str, MarketRules] | None = None,
    ) -> None:
        self.fees = fees or FeeSchedule()
        self.slippage = slippage or SlippageModel()
        self.pricing = Pricing(self.slippage)
        self.rules = dict(rules) if rules is not None else dict(default_rules())

    # ===================================================================== public: money

    def deposit(self, state: AccountState, asset: str, amount: Decimal, time_ms: int) -> Result:
        """Credit `amount` (> 0) of `asset`, with a "deposit" ledger entry."""
        if amount <= 0:
            raise EngineRefusal(Rule.QUANTITY, "A deposit must be a positive amount.")
        res = Result()
        credit(state, res, asset, amount.quantize(Q8), LedgerKind.DEPOSIT, time_ms)
        return res

    def reset(
        self,
        state: AccountState,
        initial_balance: Decimal,
        time_ms: int,
        asset: str = USDT,
    ) -> Result:
        """Start the account over: cancel orders, drop positions, balance = initial_balance.

        Open trades are closed with reason "reset" at the last known price (no fills, no
        PnL); every asset's balance moves to its new value (0 except `asset`) through a
        "reset" ledger entry, so the ledger still sums to the balances. Symbol settings and
        id counters are kept.
        """
        if initial_balance < 0:
            raise EngineRefusal(Rule.QUANTITY, "The initial balance cannot be negative.")
        res = Result()
        for order in list(state.orders.values()):
            end_order(state, order, OrderStatus.CANCELED, "reset", time_ms, res)
        for trade in list(state.trades.values()):
            price = state.prices.get(trade.symbol, trade.entry_price)
            trade.exit_price = price
            finish_trade(state, trade, CloseReason.RESET, time_ms, res)
        for symbol in list(state.positions):
            del state.positions[symbol]
            res.positions.add(symbol)
        state.locked.clear()
        targets = {name: ZERO for name in state.balances}
        targets[asset] = initial_balance.quantize(Q8)
        for name, target in targets.items():
            delta = target - state.balances.get(name, ZERO)
            if delta:
                credit(state, res, name, delta, LedgerKind.RESET, time_ms)
        return res

    # ===================================================================== public: orders

    def place_order(
        self, state: AccountState, request: OrderRequest, snapshot: MarketSnapshot
    ) -> Result:
        """Validate and place an order; market / marketable orders fill at once.

        A rejection leaves the state untouched: the Result holds a REJECTED order (id 0)
        and an OrderRejected event naming the rule. FOK / IOC orders that cannot (fully)
        fill are accepted and end EXPIRED, as on Binance.
        """
        res = Result()
        self._place(state, request, snapshot, res)
        return res

    def cancel_order(
        self,
        state: AccountState,
        order_id: int | None = None,
        *,
        client_order_id: str | None = None,
        time_ms: int,
    ) -> Result:
        """Cancel an open order by id or client order id; EngineRefusal when none is open."""
        order = self._find_open(state, order_id, client_order_id)
        res = Result()
        end_order(state, order, OrderStatus.CANCELED, "canceled", time_ms, res)
        return res

    def set_leverage(self, state: AccountState, symbol: str, leverage: int) -> Result:
        """Set a symbol's futures leverage (and its open position's), as Binance does.

        Refused when outside 1..max of the bracket holding the position's notional, or
        when the margin the position needs at the new leverage is not available.
        """
        rules = self._rules_or_refuse(symbol)
        refusal = self._leverage_refusal(state, rules, leverage)
        if refusal:
            raise EngineRefusal(*refusal)
        res = Result()
        self._apply_leverage(state, symbol, leverage, res)
        return res

    def set_margin_type(self, state: AccountState, symbol: str, margin_type: MarginType) -> Result:
        """Switch a symbol between ISOLATED and CROSSED (no position, no open orders)."""
        self._rules_or_refuse(symbol)
        refusal = self._margin_type_refusal(state, symbol, margin_type, strict=True)
        if refusal:
            raise EngineRefusal(*refusal)
        res = Result()
        settings = self._settings_for_change(state, symbol)
        settings.margin_type = MarginType(margin_type)
        res.settings.add(symbol)
        return res

    # ===================================================================== public: trades

    def open_trade(
        self,
        state: AccountState,
        *,
        symbol: str,
        market: Market,
        direction: Direction,
        snapshot: MarketSnapshot,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        leverage: int | None = None,
        margin_type: MarginType | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        trailing_stop_pct: Decimal | None = None,
        source: Source = Source.MANUAL,
        strategy: str = "",
        client_order_id: str = "",
    ) -> Result:
        """Place a trade's entry order and record its stop-loss / take-profit / trailing stop.

        The protection is validated against the entry reference (the limit price, else the
        snapshot price): a long's stop below it and target above, a short's the other way
        round, trailing 0 < pct < 100. It is copied onto the Trade when the entry fills.
        """
        long = direction == _LONG
        request = OrderRequest(
            symbol=symbol,
            market=market,
            side=_BUY if long else _SELL,
            type=order_type,
            quantity=quantity,
            quote_quantity=quote_quantity,
            price=price,
            time_in_force=time_in_force,
            leverage=leverage,
            margin_type=margin_type,
            client_order_id=client_order_id,
            source=source,
            strategy=strategy,
            opens_trade=True,
            protection=Protection(stop_loss, take_profit, trailing_stop_pct),
        )
        res = Result()
        if market == _SPOT and not long:
            self._reject(res, request, snapshot.time_ms, Rule.SPOT_SHORT, _SPOT_SHORT_MSG)
            return res
        reference = price if order_type == _LIMIT and price else snapshot.price
        problem = _protection_problem(long, reference, stop_loss, take_profit, trailing_stop_pct)
        if problem:
            self._reject(res, request, snapshot.time_ms, Rule.PROTECTION, problem)
            return res
        self._place(state, request, snapshot, res)
        return res

    def close_trade(
        self,
        state: AccountState,
        trade_id: int,
        snapshot: MarketSnapshot,
        *,
        quantity: Decimal | None = None,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        reason: CloseReason = CloseReason.MANUAL,
    ) -> Result:
        """Close a trade (all of it, or `quantity`) at market, or with a resting limit order.

        Futures: a reduce-only order against the position. Spot: a sell of the trade's
        coins (no more than are free). Closing orders are exempt from min notional, as
        Binance exempts reduce-only orders. EngineRefusal when the trade is not open.
        """
        trade = state.trades.get(trade_id)
        if trade is None:
            raise EngineRefusal(Rule.UNKNOWN_TRADE, f"Trade {trade_id} is not open.")
        if snapshot.symbol != trade.symbol:
            raise ValueError(f"snapshot of {snapshot.symbol} for a {trade.symbol} trade")
        res = Result()
        if order_type == _MARKET:
            self._close_trade_now(state, trade, snapshot, reason, res, quantity)
            return res
        if order_type != _LIMIT or price is None:
            raise EngineRefusal(Rule.ORDER_TYPE, "Close with MARKET, or LIMIT and a price.")
        request = self._closing_request(state, trade, quantity)
        if request is None:
            raise EngineRefusal(Rule.QUANTITY, "Nothing of this trade is free to sell.")
        request = replace(request, type=_LIMIT, price=price)
        self._place(state, request, snapshot, res, trade_id=trade.id, close_reason=reason)
        return res

    def update_trade_protection(
        self,
        state: AccountState,
        trade_id: int,
        *,
        stop_loss: Decimal | _Keep | None = KEEP,
        take_profit: Decimal | _Keep | None = KEEP,
        trailing_stop_pct: Decimal | _Keep | None = KEEP,
        price: Decimal | None = None,
    ) -> Result:
        """Change a trade's stop-loss, take-profit and / or trailing stop (None removes one).

        Validated against `price` (else the last price seen, else the entry price): a
        long's stop must lie below it and its target above; a short's the other way.
        A newly set trailing stop starts watching from that price.
        """
        trade = state.trades.get(trade_id)
        if trade is None:
            raise EngineRefusal(Rule.UNKNOWN_TRADE, f"Trade {trade_id} is not open.")
        reference = price or state.prices.get(trade.symbol) or trade.entry_price
        new_sl = trade.stop_loss if isinstance(stop_loss, _Keep) else stop_loss
        new_tp = trade.take_profit if isinstance(take_profit, _Keep) else take_profit
        new_trail = (
            trade.trailing_stop_pct if isinstance(trailing_stop_pct, _Keep) else trailing_stop_pct
        )
        problem = _protection_problem(
            trade.direction == _LONG,
            reference,
            None if isinstance(stop_loss, _Keep) else new_sl,
            None if isinstance(take_profit, _Keep) else new_tp,
            None if isinstance(trailing_stop_pct, _Keep) else new_trail,
        )
        if problem:
            raise EngineRefusal(Rule.PROTECTION, problem)
        res = Result()
        if new_trail is not None and new_trail != trade.trailing_stop_pct:
            trade.watermark = reference
        elif new_trail is None:
            trade.watermark = None
        trade.stop_loss, trade.take_profit, trade.trailing_stop_pct = new_sl, new_tp, new_trail
        res.trades[trade.id] = trade
        return res

    # ===================================================================== public: market

    def on_price(self, state: AccountState, snapshot: MarketSnapshot) -> Result:
        """Process one market snapshot of one symbol; the same snapshot twice is a no-op.

        In order: resting limit orders that the price crossed fill at their limit (maker);
        stop-market / take-profit-market orders whose trigger was reached fill at market
        (taker); each open trade updates its trailing watermark, then checks stop-loss,
        trailing stop and take-profit in that order (the stop wins); finally positions are
        liquidated on the mark price (isolated: this symbol; cross: the whole cross
        account when its margin balance <= maintenance margin).
        """
        res = Result()
        self._on_price(state, snapshot, res)
        return res

    def on_candle(
        self,
        state: AccountState,
        symbol: str,
        open: Decimal | float,
        high: Decimal | float,
        low: Decimal | float,
        close: Decimal | float,
        time_ms: int,
    ) -> Result:
        """Process one candle as a price path, for the backtester (mark = last price).

        Prices may be Decimal, int or float (floats are converted through their repr, so
        30000.1 becomes Decimal("30000.1"), not its binary expansion).

        The path visits open, the extremes, then close. The adverse extreme of the open
        futures position comes first (long: open, low, high, close; short: open, high,
        low, close), and a long spot trade counts as long; with nothing open, a green
        candle (close >= open) goes open, low, high, close, a red one open, high, low,
        close. So a trade whose stop and target both lie inside the candle is stopped out
        (pessimistic), and liquidation is checked at the adverse extreme before any
        recovery. Between waypoints the price moves monotonically, so every order,
        stop, target, trailing-stop or liquidation level crossed on the way is visited
        at exactly its level: stops fill at their stop price (or at the open after a gap).
        """
        if symbol not in self.rules:
            raise ValueError(f"unknown symbol {symbol}")
        res = Result()
        path = candle_path(state, symbol, *map(_decimal, (open, high, low, close)))
        current = path[0]
        self._on_price(state, MarketSnapshot(symbol, current, time_ms), res)
        for target in path[1:]:
            for _ in range(256):
                level = next_level(state, self.rules, symbol, current, target)
                if level is None:
                    break
                current = level
                self._on_price(state, MarketSnapshot(symbol, current, time_ms), res)
            if target != current:
                current = target
                self._on_price(state, MarketSnapshot(symbol, current, time_ms), res)
        return res

    def apply_funding(
        self,
        state: AccountState,
        symbol: str,
        rate: Decimal,
        mark_price: Decimal,
        time_ms: int,
    ) -> Result:
        """Settle one funding instant: payment = |qty| * mark * rate, longs pay when rate > 0.

        Idempotent per instant: a time_ms at or before the last one applied to this symbol
        does nothing. Cross positions pay from / are paid into the cross wallet, isolated
        ones their isolated wallet (as on Binance); a payment never takes a wallet below 0.
        """
        res = Result()
        last = state.funding_ms.get(symbol)
        if last is not None and time_ms <= last:
            return res
        state.funding_ms[symbol] = time_ms
        position = state.positions.get(symbol)
        if position is None:
            return res
        amount = (-position.quantity * mark_price * rate).quantize(Q8, ROUND_HALF_EVEN)
        if position.margin_type == _ISOLATED:
            if amount < -position.isolated_wallet:
                amount = -position.isolated_wallet
            position.isolated_wallet += amount
        else:
            floor = -max(cross_wallet(state), ZERO)
            if amount < floor:
                amount = floor
        position.updated_ms = time_ms
        res.positions.add(symbol)
        if amount:
            credit(
                state,
                res,
                USDT,
                amount,
                LedgerKind.FUNDING,
                time_ms,
                symbol,
                None,
                position.trade_id,
            )
        trade = state.trades.get(position.trade_id) if position.trade_id else None
        if trade is not None:
            trade.funding += amount
            res.trades[trade.id] = trade
        res.events.append(FundingApplied(symbol, rate, mark_price, amount, time_ms))
        return res

    # ===================================================================== placing

    def _place(
        self,
        state: AccountState,
        req: OrderRequest,
        snap: MarketSnapshot,
        res: Result,
        *,
        trade_id: int | None = None,
        close_reason: CloseReason | None = None,
    ) -> Order:
        t = snap.time_ms
        symbol = req.symbol
        rules = self.rules.get(symbol)
        if rules is None:
            return self._reject(res, req, t, Rule.SYMBOL, f"Unknown symbol {symbol}.")
        if snap.symbol != symbol:
            raise ValueError(f"snapshot of {snap.symbol} for a {symbol} order")
        market = req.market
        spot = market == _SPOT
        if not spot and market != _FUTURES:
            return self._reject(res, req, t, Rule.MARKET, "market must be spot or futures.")
        side = req.side
        buy = side == _BUY
        if not buy and side != _SELL:
            return self._reject(res, req, t, Rule.QUANTITY, "side must be BUY or SELL.")
        otype = req.type
        closing = trade_id is not None  # a trade's own closing order: min notional exempt
        reduce_only = req.reduce_only or req.close_position
        if spot and reduce_only:
            return self._reject(
                res, req, t, Rule.REDUCE_ONLY, "reduceOnly / closePosition are futures-only."
            )

        # -- prices
        price: Decimal | None = None
        stop: Decimal | None = None
        if otype == _MARKET:
            pass
        elif otype == _LIMIT:
            if req.price is None or req.price <= 0:
                return self._reject(res, req, t, Rule.PRICE, "A LIMIT order needs a price > 0.")
            price = round_price(req.price, rules, ROUND_DOWN if buy else ROUND_UP)
            if price <= 0:
                return self._reject(res, req, t, Rule.PRICE, "The price rounds to 0 ticks.")
            if req.close_position:
                return self._reject(
                    res, req, t, Rule.ORDER_TYPE, "closePosition needs a market / stop type."
                )
        elif otype in (_STOP, _TAKE):
            if req.stop_price is None or req.stop_price <= 0:
                return self._reject(
                    res, req, t, Rule.STOP_PRICE, f"A {otype} order needs a stop price > 0."
                )
            stop = round_price(req.stop_price, rules)
        else:
            return self._reject(res, req, t, Rule.ORDER_TYPE, f"Unsupported type {otype}.")

        # -- quantity
        position = None if spot else state.positions.get(symbol)
        quote_budget = req.quote_quantity
        if req.close_position:
            qty = ZERO
            if position is None or (position.quantity > 0) == buy:
                return self._reject(res, req, t, Rule.REDUCE_ONLY, _NOTHING_TO_REDUCE)
            if otype == _MARKET:
                qty = abs(position.quantity)
        elif quote_budget is not None:
            if not (spot and otype == _MARKET):
                return self._reject(
                    res, req, t, Rule.QUANTITY, "quote_quantity is for spot MARKET orders only."
                )
            if quote_budget <= 0:
                return self._reject(res, req, t, Rule.QUANTITY, "quote_quantity must be > 0.")
            qty = self.pricing.qty_for_quote(rules, buy, quote_budget, snap)
            if qty <= 0:
                return self._reject(res, req, t, Rule.MIN_NOTIONAL, _min_notional_msg(rules))
        else:
            if req.quantity is None or req.quantity <= 0:
                return self._reject(res, req, t, Rule.QUANTITY, "quantity must be > 0.")
            if rules.step_pow10:
                qty = req.quantity.quantize(rules.step_size, ROUND_DOWN)
            else:
                qty = round_qty(req.quantity, rules)
            if qty <= 0:
                return self._reject(
                    res,
                    req,
                    t,
                    Rule.QUANTITY,
                    f"quantity {req.quantity} is below the step size {rules.step_size}.",
                )
        if reduce_only and not req.close_position:
            if position is None or (position.quantity > 0) == buy:
                return self._reject(res, req, t, Rule.REDUCE_ONLY, _NOTHING_TO_REDUCE)
            if otype != _STOP and otype != _TAKE and qty > abs(position.quantity):
                qty = abs(position.quantity)  # clipped at the trigger for stop types
        if req.client_order_id and any(
            o.client_order_id == req.client_order_id for o in state.orders.values()
        ):
            return self._reject(
                res, req, t, Rule.CLIENT_ORDER_ID, "An open order already has this client id."
            )

        # -- futures settings carried by the request
        leverage = 0
        if not spot:
            settings = state.settings.get(symbol, _DEFAULT_SETTINGS)
            leverage = settings.leverage
            if req.leverage is not None and req.leverage != leverage:
                refusal = self._leverage_refusal(state, rules, req.leverage)
                if refusal:
                    return self._reject(res, req, t, *refusal)
                leverage = req.leverage
            if req.margin_type is not None and req.margin_type != settings.margin_type:
                refusal = self._margin_type_refusal(state, symbol, req.margin_type, strict=False)
                if refusal:
                    return self._reject(res, req, t, *refusal)

        # -- by type
        if otype == _MARKET:
            _, quote = self.pricing.taker_plan(rules, buy, qty, snap, None)
            if not closing and not reduce_only and not meets_min_notional(rules, quote):
                return self._reject(res, req, t, Rule.MIN_NOTIONAL, _min_notional_msg(rules))
            refusal = self._funds_refusal(
                state, rules, spot, buy, qty, quote, snap, reduce_only, leverage, True
            )
            if refusal:
                return self._reject(res, req, t, *refusal)
            order = self._accept(state, req, qty, None, None, leverage, t, res)
            order.trade_id, order.close_reason = trade_id, close_reason
            execute(self.fees, state, order, rules, qty, quote, False, t, res)
            return order

        if otype == _LIMIT:
            assert price is not None
            if not closing and not reduce_only and not meets_min_notional(rules, qty * price):
                return self._reject(res, req, t, Rule.MIN_NOTIONAL, _min_notional_msg(rules))
            tif = req.time_in_force
            filled, quote = self.pricing.taker_plan(rules, buy, qty, snap, price)
            if tif == TimeInForce.GTX and (filled or self.pricing.would_take(buy, price, snap)):
                return self._reject(
                    res, req, t, Rule.POST_ONLY, "The post-only order would trade at once."
                )
            rest = qty - filled if tif in (TimeInForce.GTC, TimeInForce.GTX) else ZERO
            refusal = self._funds_refusal(
                state, rules, spot, buy, qty, qty * price, snap, reduce_only, leverage, bool(filled)
            )
            if refusal:
                return self._reject(res, req, t, *refusal)
            order = self._accept(state, req, qty, price, None, leverage, t, res)
            order.trade_id, order.close_reason = trade_id, close_reason
            if tif == TimeInForce.FOK and filled < qty:
                end_order(state, order, OrderStatus.EXPIRED, Rule.NO_LIQUIDITY, t, res)
                return order
            if filled:
                execute(self.fees, state, order, rules, filled, quote, False, t, res)
            if rest and order.is_open:
                self._rest(state, order, rules, rest, price)
                res.orders[order.id] = order
            elif order.status != _FILLED:
                end_order(state, order, OrderStatus.EXPIRED, Rule.NO_LIQUIDITY, t, res)
            return order

        # stop-market / take-profit-market: rests until its trigger
        assert stop is not None
        watched = snap.mark if req.working_type == WorkingType.MARK_PRICE else snap.price
        if triggered(otype, buy, stop, watched):
            return self._reject(
                res, req, t, Rule.WOULD_TRIGGER, "The order would trigger immediately."
            )
        exempt = closing or reduce_only or not qty  # closePosition stops size at trigger
        if not exempt and not meets_min_notional(rules, qty * stop):
            return self._reject(res, req, t, Rule.MIN_NOTIONAL, _min_notional_msg(rules))
        if spot:
            refusal = self._spot_refusal(state, rules, buy, qty, qty * stop)
            if refusal:
                return self._reject(res, req, t, *refusal)
        order = self._accept(state, req, qty, None, stop, leverage, t, res)
        order.trade_id, order.close_reason = trade_id, close_reason
        if spot:
            lock(state, order, *_spot_reservation(rules, buy, qty, stop))
        return order

    def _accept(
        self,
        state: AccountState,
        req: OrderRequest,
        qty: Decimal,
        price: Decimal | None,
        stop: Decimal | None,
        leverage: int,
        t: int,
        res: Result,
    ) -> Order:
        """Give the order its id, apply the request's futures settings, record it."""
        order_id = state.next_order_id
        state.next_order_id = order_id + 1
        order = Order(
            order_id,
            req.symbol,
            req.market,
            req.side,
            req.type,
            qty,
            price,
            stop,
            req.time_in_force,
            req.reduce_only,
            req.close_position,
            req.client_order_id,
            _NEW,
            t,
            t,
            req.quote_quantity,
            req.working_type,
            leverage,
            req.source,
            req.strategy,
            req.opens_trade,
            req.protection,
        )
        if req.market == _FUTURES and (req.leverage is not None or req.margin_type is not None):
            symbol = req.symbol
            settings = state.settings.get(symbol, _DEFAULT_SETTINGS)
            if leverage != settings.leverage:
                self._apply_leverage(state, symbol, leverage, res)
            if req.margin_type is not None and req.margin_type != settings.margin_type:
                self._settings_for_change(state, symbol).margin_type = MarginType(req.margin_type)
                res.settings.add(symbol)
        if req.type != _MARKET:
            state.orders[order_id] = order
        res.orders[order_id] = order
        res.order = order
        return order

    def _reject(self, res: Result, req: OrderRequest, t: int, rule: Rule, message: str) -> Order:
        order = Order(
            0,
            req.symbol,
            req.market,
            req.side,
            req.type,
            req.quantity or ZERO,
            req.price,
            req.stop_price,
            req.time_in_force,
            req.reduce_only,
            req.close_position,
            req.client_order_id,
            OrderStatus.REJECTED,
            t,
            t,
            req.quote_quantity,
            req.working_type,
            req.leverage or 0,
            reject_reason=rule.value,
            reject_message=message,
            source=req.source,
            strategy=req.strategy,
        )
        res.order = order
        res.events.append(OrderRejected(order, rule, message))
        return order

    # ===================================================================== checks

    def _funds_refusal(
        self,
        state: AccountState,
        rules: MarketRules,
        spot: bool,
        buy: bool,
        qty: Decimal,
        notional: Decimal,
        snap: MarketSnapshot,
        reduce_only: bool,
        leverage: int,
        taker: bool,
    ) -> Refusal | None:
        """Whether the account can pay `notional` for `qty` (spot) or margin it (futures)."""
        if spot:
            return self._spot_refusal(state, rules, buy, qty, notional)
        if reduce_only:
            return None
        position = state.positions.get(rules.symbol)
        held = position.quantity if position is not None else ZERO
        opening = qty
        if held and (held > 0) != buy:
            opening = qty - abs(held) if qty > abs(held) else ZERO
        if not opening:
            return None  # a pure reduction needs no margin
        price = notional / qty
        after = abs(held + qty if buy else held - qty)
        if leverage > max_leverage_for(rules, after * price):
            return (
                Rule.LEVERAGE,
                f"{leverage}x exceeds the maximum leverage for a {after * price:.2f} USDT "
                f"position; lower the leverage or the quantity.",
            )
        fees = self.fees
        fee = notional * (fees.futures_taker if taker else fees.futures_maker)
        needed = opening * price / leverage + fee
        available = available_usdt(state, rules.symbol, snap.mark)
        if needed > available:
            return (
                Rule.INSUFFICIENT_MARGIN,
                f"Margin is insufficient: the order needs {needed:.2f} USDT "
                f"(margin + fee), {max(available, ZERO):.2f} is available.",
            )
        return None

    def _spot_refusal(
        self, state: AccountState, rules: MarketRules, buy: bool, qty: Decimal, cost: Decimal
    ) -> Refusal | None:
        if buy:
            quote = rules.quote
            if quote == USDT:
                available = available_usdt(state)
            else:
                available = state.balances.get(quote, ZERO) - state.locked.get(quote, ZERO)
            if cost > available:
                return (
                    Rule.INSUFFICIENT_BALANCE,
                    f"Insufficient {quote}: the order costs {cost:.8f}, "
                    f"{max(available, ZERO):.8f} is available.",
                )
            return None
        base = rules.base
        held = state.balances.get(base, ZERO)
        if not held:
            return (Rule.SPOT_SHORT, _SPOT_SHORT_MSG)
        available = held - state.locked.get(base, ZERO)
        if qty > available:
            return (
                Rule.INSUFFICIENT_BALANCE,
                f"Insufficient {base}: selling {qty}, {max(available, ZERO)} is free "
                f"(spot cannot sell more than it holds).",
            )
        return None

    def _leverage_refusal(
        self, state: AccountState, rules: MarketRules, leverage: int
    ) -> Refusal | None:
        if not isinstance(leverage, int) or not 1 <= leverage <= rules.max_leverage:
            return (
                Rule.LEVERAGE,
                f"Leverage {leverage} is not valid for {rules.symbol}: "
                f"use 1..{rules.max_leverage}.",
            )
        position = state.positions.get(rules.symbol)
        if position is None:
            return None
        mark = state.marks.get(rules.symbol, position.entry_price)
        notional = abs(position.quantity) * mark
        if leverage > max_leverage_for(rules, notional):
            return (
                Rule.LEVERAGE,
                f"{leverage}x exceeds the maximum for the open {notional:.2f} USDT position.",
            )
        needed = notional / leverage
        if position.margin_type == _ISOLATED:
            if needed > position.isolated_wallet:
                return (
                    Rule.INSUFFICIENT_MARGIN,
                    "The isolated margin is too small for this leverage; add margin first.",
                )
        elif needed - notional / position.leverage > available_usdt(state):
            return (Rule.INSUFFICIENT_MARGIN, "Not enough margin for the lower leverage.")
        return None

    def _margin_type_refusal(
        self, state: AccountState, symbol: str, margin_type: MarginType, *, strict: bool
    ) -> Refusal | None:
        if margin_type not in (_ISOLATED, _CROSSED):
            return (Rule.MARGIN_TYPE, "margin_type must be ISOLATED or CROSSED.")
        current = state.settings.get(symbol, _DEFAULT_SETTINGS).margin_type
        if margin_type == current:
            return (Rule.NO_CHANGE, "No need to change margin type.") if strict else None
        if symbol in state.positions:
            return (Rule.POSITION_OPEN, "Margin type cannot change while a position is open.")
        if any(o.symbol == symbol and o.market == _FUTURES for o in state.orders.values()):
            return (Rule.OPEN_ORDERS, "Margin type cannot change while orders are open.")
        return None

    def _apply_leverage(self, state: AccountState, symbol: str, leverage: int, res: Result) -> None:
        self._settings_for_change(state, symbol).leverage = leverage
        res.settings.add(symbol)
        position = state.positions.get(symbol)
        if position is not None and position.leverage != leverage:
            position.leverage = leverage
            res.positions.add(symbol)
            trade = state.trades.get(position.trade_id) if position.trade_id else None
            if trade is not None:
                trade.leverage = leverage
                res.trades[trade.id] = trade

    @staticmethod
    def _settings_for_change(state: AccountState, symbol: str) -> SymbolSettings:
        settings = state.settings.get(symbol)
        if settings is None:
            settings = state.settings[symbol] = SymbolSettings()
        return settings

    def _rules_or_refuse(self, symbol: str) -> MarketRules:
        rules = self.rules.get(symbol)
        if rules is None:
            raise EngineRefusal(Rule.SYMBOL, f"Unknown symbol {symbol}.")
        return rules

    @staticmethod
    def _find_open(state: AccountState, order_id: int | None, client_order_id: str | None) -> Order:
        if order_id is not None:
            order = state.orders.get(order_id)
            if order is not None:
                return order
        elif client_order_id:
            for order in state.orders.values():
                if order.client_order_id == client_order_id:
                    return order
        raise EngineRefusal(Rule.UNKNOWN_ORDER, "Unknown order: it is not open (or not yours).")

    # ===================================================================== open orders

    def _rest(
        self, state: AccountState, order: Order, rules: MarketRules, qty: Decimal, price: Decimal
    ) -> None:
        """Reserve what the resting part of a limit order needs."""
        if order.market == _SPOT:
            lock(state, order, *_spot_reservation(rules, order.side == _BUY, qty, price))
        elif not order.reduce_only and order.leverage:
            position = state.positions.get(order.symbol)
            opening = qty
            if position is not None and (position.quantity > 0) != (order.side == _BUY):
                opening = max(qty - abs(position.quantity), ZERO)
            if opening:
                lock(state, order, USDT, (opening * price / order.leverage).quantize(Q8, ROUND_UP))

    def _fill_resting(
        self,
        state: AccountState,
        order: Order,
        rules: MarketRules,
        snap: MarketSnapshot,
        res: Result,
    ) -> None:
        """A resting limit order the price crossed: all of it fills at its limit, as maker."""
        t = snap.time_ms
        assert order.price is not None
        price = order.price
        qty = order.quantity - order.executed_qty
        buy = order.side == _BUY
        if order.reserved:
            unlock(state, order)
        refusal: Refusal | None
        if order.market == _SPOT:
            refusal = self._spot_refusal(state, rules, buy, qty, qty * price)
        elif order.reduce_only:
            position = state.positions.get(order.symbol)
            if position is None or (position.quantity > 0) == buy:
                end_order(state, order, OrderStatus.EXPIRED, Rule.REDUCE_ONLY, t, res)
                return
            qty = min(qty, abs(position.quantity))
            refusal = None
        else:
            leverage = state.settings.get(order.symbol, _DEFAULT_SETTINGS).leverage
            refusal = self._funds_refusal(
                state, rules, False, buy, qty, qty * price, snap, False, leverage, False
            )
        if refusal:
            end_order(state, order, OrderStatus.EXPIRED, refusal[0], t, res)
            return
        execute(self.fees, state, order, rules, qty, qty * price, True, t, res)
        if order.is_open:  # a reduce-only order clipped to the position: the rest expires
            end_order(state, order, OrderStatus.EXPIRED, Rule.REDUCE_ONLY, t, res)

    def _trigger(
        self,
        state: AccountState,
        order: Order,
        rules: MarketRules,
        snap: MarketSnapshot,
        res: Result,
    ) -> None:
        """A stop / take-profit order reached its trigger: it executes as a market order."""
        t = snap.time_ms
        buy = order.side == _BUY
        if order.reserved:
            unlock(state, order)
        qty = order.quantity
        spot = order.market == _SPOT
        reduce_only = order.reduce_only or order.close_position
        if reduce_only:
            position = state.positions.get(order.symbol)
            if position is None or (position.quantity > 0) == buy:
                end_order(state, order, OrderStatus.EXPIRED, Rule.REDUCE_ONLY, t, res)
                return
            held = abs(position.quantity)
            if order.close_position or qty > held:
                qty = held
                order.quantity = order.executed_qty + held
        _, quote = self.pricing.taker_plan(rules, buy, qty, snap, None)
        leverage = state.settings.get(order.symbol, _DEFAULT_SETTINGS).leverage
        refusal = self._funds_refusal(
            state, rules, spot, buy, qty, quote, snap, reduce_only, leverage, True
        )
        if refusal:
            end_order(state, order, OrderStatus.EXPIRED, refusal[0], t, res)
            return
        execute(self.fees, state, order, rules, qty, quote, False, t, res)

    # ===================================================================== price processing

    def _on_price(self, state: AccountState, snap: MarketSnapshot, res: Result) -> None:
        symbol = snap.symbol
        rules = self.rules.get(symbol)
        if rules is None:
            raise ValueError(f"unknown symbol {symbol}")
        price = snap.price
        state.prices[symbol] = price
        state.marks[symbol] = snap.mark
        orders = state.orders
        if orders:
            # one pass picks what this price reaches; then limits fill before stops trigger
            crossed: list[Order] = []
            reached: list[Order] = []
            book = snap.book
            for order in orders.values():
                if order.symbol != symbol:
                    continue
                if order.type == _LIMIT:
                    limit = order.price
                    assert limit is not None
                    if order.side == _BUY:
                        hit = price <= limit or (
                            book is not None and book_crosses(snap, True, limit)
                        )
                    else:
                        hit = price >= limit or (
                            book is not None and book_crosses(snap, False, limit)
                        )
                    if hit:
                        crossed.append(order)
                else:
                    watched = snap.mark if order.working_type == WorkingType.MARK_PRICE else price
                    assert order.stop_price is not None
                    if triggered(order.type, order.side == _BUY, order.stop_price, watched):
                        reached.append(order)
            for order in crossed:
                if order.id in orders:
                    self._fill_resting(state, order, rules, snap, res)
            for order in reached:
                if order.id in orders:
                    self._trigger(state, order, rules, snap, res)
        if state.trades:
            for trade in [tr for tr in state.trades.values() if tr.symbol == symbol]:
                if trade.id in state.trades:
                    self._guard_trade(state, trade, snap, res)
        if state.positions:
            check_liquidation(self.fees, self.rules, state, snap, res)

    def _guard_trade(
        self, state: AccountState, trade: Trade, snap: MarketSnapshot, res: Result
    ) -> None:
        """Trailing watermark first, then stop-loss, trailing stop, take-profit (stop wins)."""
        price = snap.price
        long = trade.direction == _LONG
        pct = trade.trailing_stop_pct
        trail = None
        if pct is not None:
            mark = trade.watermark
            if mark is None or (price > mark if long else price < mark):
                trade.watermark = mark = price
                res.trades[trade.id] = trade
            trail = trail_level(mark, pct, long)
        reason = None
        stop_loss = trade.stop_loss
        take_profit = trade.take_profit
        if stop_loss is not None and (price <= stop_loss if long else price >= stop_loss):
            reason = CloseReason.STOP_LOSS
        elif trail is not None and (price <= trail if long else price >= trail):
            reason = CloseReason.TRAILING_STOP
        elif take_profit is not None and (price >= take_profit if long else price <= take_profit):
            reason = CloseReason.TAKE_PROFIT
        if reason is not None:
            self._close_trade_now(state, trade, snap, reason, res, None)

    def _closing_request(
        self, state: AccountState, trade: Trade, quantity: Decimal | None
    ) -> OrderRequest | None:
        rules = self.rules[trade.symbol]
        if trade.market == _FUTURES:
            position = state.positions.get(trade.symbol)
            if position is None:
                return None
            held = abs(position.quantity)
            qty = held if quantity is None else min(round_qty(quantity, rules), held)
            side = _SELL if position.quantity > 0 else _BUY
            return OrderRequest(
                trade.symbol,
                _FUTURES,
                side,
                quantity=qty,
                reduce_only=True,
                source=trade.source,
                strategy=trade.strategy,
            )
        free = state.balances.get(rules.base, ZERO) - state.locked.get(rules.base, ZERO)
        wanted = trade.quantity if quantity is None else min(quantity, trade.quantity)
        qty = round_qty(min(wanted, free), rules)
        if qty <= 0:
            return None
        return OrderRequest(
            trade.symbol, _SPOT, _SELL, quantity=qty, source=trade.source, strategy=trade.strategy
        )

    def _close_trade_now(
        self,
        state: AccountState,
        trade: Trade,
        snap: MarketSnapshot,
        reason: CloseReason,
        res: Result,
        quantity: Decimal | None,
    ) -> None:
        request = self._closing_request(state, trade, quantity)
        if request is None:
            # nothing left to sell (spot coins spent elsewhere) or no position: just close
            trade.exit_price = trade.exit_price or snap.price
            finish_trade(state, trade, reason, snap.time_ms, res)
            return
        self._place(state, request, snap, res, trade_id=trade.id, close_reason=reason)
        if quantity is None and trade.id in state.trades:
            # spot: coins of this trade were sold elsewhere; what could be sold is sold
            finish_trade(state, trade, reason, snap.time_ms, res)


# ========================================================================= helpers

_SPOT_SHORT_MSG = "Spot cannot sell what the account does not hold (no shorting on spot)."
_NOTHING_TO_REDUCE = "ReduceOnly order is rejected: there is no opposite position to reduce."


def _decimal(value: Decimal | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def _min_notional_msg(rules: MarketRules) -> str:
    return (
        f"The order's value is below {rules.symbol}'s minimum notional of "
        f"{rules.min_notional} {rules.quote}."
    )


def _spot_reservation(
    rules: MarketRules, buy: bool, qty: Decimal, price: Decimal
) -> tuple[str, Decimal]:
    if buy:
        return rules.quote, (qty * price).quantize(Q8, ROUND_UP)
    return rules.base, qty


def _protection_problem(
    long: bool,
    reference: Decimal,
    stop_loss: Decimal | None,
    take_profit: Decimal | None,
    trailing_pct: Decimal | None,
) -> str | None:
    """Why a stop-loss / take-profit / trailing stop is on the wrong side, or None."""
    side = "long" if long else "short"
    if stop_loss is not None and (
        stop_loss <= 0 or (stop_loss >= reference if long else stop_loss <= reference)
    ):
        where = "below" if long else "above"
        return f"A {side}'s stop-loss must lie {where} the price {reference} (got {stop_loss})."
    if take_profit is not None and (
        take_profit <= 0 or (take_profit <= reference if long else take_profit >= reference)
    ):
        where = "above" if long else "below"
        return f"A {side}'s take-profit must lie {where} the price {reference} (got {take_profit})."
    if trailing_pct is not None and not 0 < trailing_pct < 100:
        return f"The trailing stop must be between 0 and 100 percent (got {trailing_pct})."
    return None
