"""Binance USD-M JSON shapes of the paper futures account: account, balance, positionRisk,
leverage brackets and algo (conditional) orders.

Pure functions over the futures selector's figures and Order rows (no queries). The field
sets are Binance's (../shared/binance-compat.md §3.4) because clients read them by name:
ccxt skips an asset whose ``updateTime`` is 0, reads the position's side from the sign of
``notional`` and its margin mode from ``isolatedMargin``. Decimals are strings, ids and
timestamps integers, flags JSON booleans; the leverage-bracket table uses JSON numbers,
as Binance's does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cryptobot.lib.decimal import dec_str
from trading import engine as core
from trading.binance.order_shapes import STP_MODE, ms
from trading.models import Order
from trading.selectors.orders import FuturesAccount

ZERO = Decimal("0")
USDT = "USDT"
ONE_WAY = "BOTH"  # positionSide in one-way mode (hedge mode is not offered)


def _dec(value: Decimal | None) -> str:
    return dec_str(value if value is not None else ZERO)


def _number(value: Decimal) -> int | float:
    """A JSON number as Binance writes bracket figures: integral values as integers."""
    return int(value) if value == value.to_integral_value() else float(value)


def _cross_unrealized(fa: FuturesAccount) -> Decimal:
    return sum(
        (p.unrealized_pnl for p in fa.positions if p.margin_type == core.MarginType.CROSSED),
        ZERO,
    )


def _initial_margin(fa: FuturesAccount) -> Decimal:
    return fa.summary.position_initial_margin + fa.summary.open_order_initial_margin


def _position_updated(fa: FuturesAccount, symbol: str) -> int:
    position = fa.state.positions.get(symbol)
    return position.updated_ms if position is not None else 0


def _isolated_margin(risk: core.PositionRisk) -> Decimal:
    """Binance's isolatedMargin: the isolated wallet plus unrealized PnL (0 on cross)."""
    if risk.margin_type != core.MarginType.ISOLATED:
        return ZERO
    return risk.isolated_wallet + risk.unrealized_pnl


def max_notional(rules: core.MarketRules, leverage: int) -> Decimal:
    """The largest position notional allowed at ``leverage`` (Binance's maxNotionalValue)."""
    brackets = rules.brackets
    return max((b.cap for b in brackets if b.max_leverage >= leverage), default=brackets[0].cap)


# --------------------------------------------------------------------------- account


def futures_asset(fa: FuturesAccount) -> dict[str, Any]:
    """The USDT margin asset, as account ``assets[]`` lists it (updateTime never 0)."""
    s = fa.summary
    return {
        "asset": USDT,
        "walletBalance": _dec(s.wallet_balance),
        "unrealizedProfit": _dec(s.unrealized_pnl),
        "marginBalance": _dec(s.margin_balance),
        "maintMargin": _dec(s.maintenance_margin),
        "initialMargin": _dec(_initial_margin(fa)),
        "positionInitialMargin": _dec(s.position_initial_margin),
        "openOrderInitialMargin": _dec(s.open_order_initial_margin),
        "crossWalletBalance": _dec(s.cross_wallet_balance),
        "crossUnPnl": _dec(_cross_unrealized(fa)),
        "availableBalance": _dec(s.available_balance),
        "maxWithdrawAmount": _dec(s.available_balance),
        "marginAvailable": True,
        "updateTime": fa.updated_ms or 1,
    }


def _account_position(fa: FuturesAccount, risk: core.PositionRisk) -> dict[str, Any]:
    return {
        "symbol": risk.symbol,
        "positionSide": ONE_WAY,
        "positionAmt": _dec(risk.quantity),
        "unrealizedProfit": _dec(risk.unrealized_pnl),
        "isolatedMargin": _dec(_isolated_margin(risk)),
        "notional": _dec(risk.notional),
        "isolatedWallet": _dec(risk.isolated_wallet),
        "initialMargin": _dec(risk.initial_margin),
        "maintMargin": _dec(risk.maintenance_margin),
        "updateTime": _position_updated(fa, risk.symbol),
    }


def _account_position_v2(
    fa: FuturesAccount, rules: core.MarketRules, risk: core.PositionRisk | None
) -> dict[str, Any]:
    """v2 lists every symbol, flat ones with zeros, plus leverage and isolated."""
    settings = fa.state.settings.get(rules.symbol, core.SymbolSettings())
    if risk is None:
        risk = _flat(rules.symbol, settings)
    return {
        **_account_position(fa, risk),
        "positionInitialMargin": _dec(risk.initial_margin),
        "openOrderInitialMargin": _dec(ZERO),
        "leverage": str(risk.leverage),
        "isolated": risk.margin_type == core.MarginType.ISOLATED,
        "entryPrice": _dec(risk.entry_price),
        "breakEvenPrice": _dec(risk.entry_price),
        "maxNotional": _dec(max_notional(rules, risk.leverage)),
        "bidNotional": "0",
        "askNotional": "0",
    }


def futures_account(
    fa: FuturesAccount, rules: dict[str, core.MarketRules], *, version: int
) -> dict[str, Any]:
    """GET /fapi/v2|v3/account: totals, the USDT asset and positions (v3: open ones only;
    v2: every symbol, with leverage and margin mode, as python-binance reads it)."""
    s = fa.summary
    out: dict[str, Any] = {
        "totalInitialMargin": _dec(_initial_margin(fa)),
        "totalMaintMargin": _dec(s.maintenance_margin),
        "totalWalletBalance": _dec(s.wallet_balance),
        "totalUnrealizedProfit": _dec(s.unrealized_pnl),
        "totalMarginBalance": _dec(s.margin_balance),
        "totalPositionInitialMargin": _dec(s.position_initial_margin),
        "totalOpenOrderInitialMargin": _dec(s.open_order_initial_margin),
        "totalCrossWalletBalance": _dec(s.cross_wallet_balance),
        "totalCrossUnPnl": _dec(_cross_unrealized(fa)),
        "availableBalance": _dec(s.available_balance),
        "maxWithdrawAmount": _dec(s.available_balance),
        "assets": [futures_asset(fa)],
    }
    if version == 2:
        by_symbol = {p.symbol: p for p in fa.positions}
        out = {
            "feeTier": 0,
            "feeBurn": False,
            "canTrade": True,
            "canDeposit": False,
            "canWithdraw": False,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            **out,
            "positions": [
                _account_position_v2(fa, rules[symbol], by_symbol.get(symbol))
                for symbol in sorted(rules)
            ],
        }
    else:
        out["positions"] = [_account_position(fa, p) for p in fa.positions]
    return out


def futures_balance(fa: FuturesAccount) -> list[dict[str, Any]]:
    """GET /fapi/v2|v3/balance: one row, the USDT margin asset."""
    s = fa.summary
    return [
        {
            "accountAlias": f"paper{fa.account.pk}",
            "asset": USDT,
            "balance": _dec(s.wallet_balance),
            "crossWalletBalance": _dec(s.cross_wallet_balance),
            "crossUnPnl": _dec(_cross_unrealized(fa)),
            "availableBalance": _dec(s.available_balance),
            "maxWithdrawAmount": _dec(s.available_balance),
            "marginAvailable": True,
            "updateTime": fa.updated_ms or 1,
        }
    ]


# --------------------------------------------------------------------------- positions


def _flat(symbol: str, settings: core.SymbolSettings) -> core.PositionRisk:
    return core.PositionRisk(
        symbol=symbol,
        quantity=ZERO,
        entry_price=ZERO,
        mark_price=ZERO,
        notional=ZERO,
        unrealized_pnl=ZERO,
        initial_margin=ZERO,
        maintenance_margin=ZERO,
        isolated_wallet=ZERO,
        leverage=settings.leverage,
        margin_type=settings.margin_type,
        liquidation_price=ZERO,
    )


def position_risk(
    fa: FuturesAccount,
    rules: core.MarketRules,
    risk: core.PositionRisk | None,
    *,
    version: int,
    mark: Decimal | None = None,
) -> dict[str, Any]:
    """One GET /fapi/v2|v3/positionRisk row; ``risk`` None renders the flat position.

    notional is signed like positionAmt; liquidationPrice is "0" when there is none
    (ccxt reads that as no liquidation price). v3 has no leverage / marginType (ccxt then
    derives the margin mode from isolatedMargin); v2 has both."""
    settings = fa.state.settings.get(rules.symbol, core.SymbolSettings())
    if risk is None:
        risk = _flat(rules.symbol, settings)
    mark_price = risk.mark_price if risk.quantity else (mark or ZERO)
    out: dict[str, Any] = {
        "symbol": risk.symbol,
        "positionSide": ONE_WAY,
        "positionAmt": _dec(risk.quantity),
        "entryPrice": _dec(risk.entry_price),
        "breakEvenPrice": _dec(risk.entry_price),
        "markPrice": _dec(mark_price),
        "unRealizedProfit": _dec(risk.unrealized_pnl),
        "liquidationPrice": _dec(risk.liquidation_price) if risk.liquidation_price else "0",
        "isolatedMargin": _dec(_isolated_margin(risk)),
        "notional": _dec(risk.notional),
        "marginAsset": USDT,
        "isolatedWallet": _dec(risk.isolated_wallet),
        "initialMargin": _dec(risk.initial_margin),
        "maintMargin": _dec(risk.maintenance_margin),
        "positionInitialMargin": _dec(risk.initial_margin),
        "openOrderInitialMargin": "0",
        "adl": 1 if risk.quantity else 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": _position_updated(fa, risk.symbol),
    }
    if version == 2:
        out["leverage"] = str(risk.leverage)
        out["marginType"] = "isolated" if risk.margin_type == core.MarginType.ISOLATED else "cross"
        out["isAutoAddMargin"] = "false"
        out["maxNotionalValue"] = _dec(max_notional(rules, risk.leverage))
    return out


def position_risks(
    fa: FuturesAccount,
    rules: dict[str, core.MarketRules],
    *,
    version: int,
    symbol: str | None = None,
) -> list[dict[str, Any]]:
    """GET /fapi/v2|v3/positionRisk: the asked symbol's row (flat or not); without one,
    v3 lists open positions only and v2 every symbol."""
    risks = {p.symbol: p for p in fa.positions}
    if symbol is not None:
        symbols = [symbol]
    elif version == 2:
        symbols = sorted(rules)
    else:
        symbols = sorted(risks)
    return [
        position_risk(
            fa,
            rules[s],
            risks.get(s),
            version=version,
            mark=fa.state.marks.get(s) or fa.state.prices.get(s),
        )
        for s in symbols
    ]


def leverage_bracket(rules: core.MarketRules) -> dict[str, Any]:
    """One symbol of GET /fapi/v1/leverageBracket: the engine's bracket table."""
    return {
        "symbol": rules.symbol,
        "notionalCoef": 1.0,
        "brackets": [
            {
                "bracket": i,
                "initialLeverage": b.max_leverage,
                "notionalCap": _number(b.cap),
                "notionalFloor": _number(b.floor),
                "maintMarginRatio": _number(b.mmr),
                "cum": float(b.cum),
            }
            for i, b in enumerate(rules.brackets, start=1)
        ],
    }


def leverage_set(result: dict[str, Any]) -> dict[str, Any]:
    """POST /fapi/v1/leverage's reply from the service's result."""
    return {
        "leverage": result["leverage"],
        "maxNotionalValue": _dec(result["max_notional"]),
        "symbol": result["symbol"],
    }


# --------------------------------------------------------------------------- algo orders

_ALGO_STATUS = {
    Order.Status.NEW: "NEW",
    Order.Status.PARTIALLY_FILLED: "NEW",
    Order.Status.FILLED: "FINISHED",
    Order.Status.CANCELED: "CANCELED",
    Order.Status.EXPIRED: "EXPIRED",
    Order.Status.REJECTED: "REJECTED",
}


def algo_status(order: Order) -> str:
    """NEW while it waits for its trigger, FINISHED once triggered and filled."""
    return _ALGO_STATUS.get(Order.Status(order.status), "NEW")


def algo_order(order: Order) -> dict[str, Any]:
    """A conditional order as POST / GET /fapi/v1/algoOrder, openAlgoOrders and
    allAlgoOrders show it. algoId is the order's number; once it has triggered, the
    market order it became is the same record, so actualOrderId is that number too."""
    triggered = order.executed_qty > 0
    updated = ms(order.updated_at)
    return {
        "algoId": order.number,
        "clientAlgoId": order.client_order_id,
        "algoType": "CONDITIONAL",
        "orderType": order.type,
        "symbol": order.symbol,
        "side": order.side,
        "positionSide": ONE_WAY,
        "timeInForce": order.time_in_force,
        "quantity": _dec(order.quantity),
        "algoStatus": algo_status(order),
        "actualOrderId": str(order.number) if triggered else "",
        "actualPrice": _dec(order.avg_price) if triggered else "0",
        "executedQty": _dec(order.executed_qty),
        "triggerPrice": _dec(order.stop_price),
        "price": _dec(ZERO),
        "icebergQuantity": None,
        "selfTradePreventionMode": STP_MODE,
        "workingType": order.working_type,
        "priceMatch": "NONE",
        "closePosition": order.close_position,
        "priceProtect": False,
        "reduceOnly": order.reduce_only,
        "createTime": ms(order.created_at),
        "updateTime": updated,
        "triggerTime": updated if triggered else 0,
        "goodTillDate": 0,
    }


def algo_canceled(order: Order) -> dict[str, Any]:
    """DELETE /fapi/v1/algoOrder's reply (Binance's: ids and a success code, no status)."""
    return {
        "algoId": order.number,
        "clientAlgoId": order.client_order_id,
        "code": "200",
        "msg": "success",
    }
