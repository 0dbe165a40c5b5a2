"""Binance request parsing without a database: newOrder parameters → OrderRequest (spot and
USD-M), typed parameter getters and request signing, each refusal with Binance's code."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from trading import engine as core
from trading.binance import errors, order_params, signing
from trading.binance.params import Params


def params(**values: str) -> Params:
    return Params("", urlencode(values))


def code_of(call, *args) -> tuple[int, str]:
    with pytest.raises(errors.BinanceError) as info:
        call(*args)
    return info.value.code, info.value.msg


# --------------------------------------------------------------------------- spot orders


def test_spot_market_buy_by_quantity_as_ccxt_sends_it():
    p = params(
        symbol="BTCUSDT",
        side="BUY",
        newClientOrderId="x-TKT5PX2Fde372dc061e4436b3f6bc4",
        newOrderRespType="FULL",
        type="MARKET",
        quantity="0.001",
    )
    parsed = order_params.spot_order(p, "BTCUSDT")
    req = parsed.request
    assert parsed.resp_type == "FULL"
    assert (req.symbol, req.market, req.side, req.type) == (
        "BTCUSDT",
        core.Market.SPOT,
        core.Side.BUY,
        core.OrderType.MARKET,
    )
    assert req.quantity == Decimal("0.001") and req.quote_quantity is None
    assert req.client_order_id == "x-TKT5PX2Fde372dc061e4436b3f6bc4"
    assert req.price is None and req.stop_price is None and not req.opens_trade


def test_spot_market_buy_with_quote_order_qty():
    req = order_params.spot_order(
        params(side="BUY", type="MARKET", quoteOrderQty="100.5"), "BTCUSDT"
    ).request
    assert req.quote_quantity == Decimal("100.5") and req.quantity is None


def test_spot_market_needs_quantity_or_quote_and_not_both():
    code, msg = code_of(order_params.spot_order, params(side="BUY", type="MARKET"), "BTCUSDT")
    assert code == -1102 and "quantity" in msg and "quoteOrderQty" in msg
    both = params(side="BUY", type="MARKET", quantity="1", quoteOrderQty="10")
    assert code_of(order_params.spot_order, both, "BTCUSDT")[0] == -1106


def test_spot_limit_needs_price_and_time_in_force():
    req = order_params.spot_order(
        params(side="SELL", type="LIMIT", quantity="0.5", price="70000", timeInForce="IOC"),
        "BTCUSDT",
    ).request
    assert req.type == core.OrderType.LIMIT and req.time_in_force == core.TimeInForce.IOC
    assert req.price == Decimal("70000") and req.side == core.Side.SELL
    no_price = params(side="BUY", type="LIMIT", quantity="1", timeInForce="GTC")
    assert code_of(order_params.spot_order, no_price, "BTCUSDT") == (
        -1102,
        "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
    )
    no_tif = params(side="BUY", type="LIMIT", quantity="1", price="1")
    assert code_of(order_params.spot_order, no_tif, "BTCUSDT")[0] == -1102
    gtx = params(side="BUY", type="LIMIT", quantity="1", price="1", timeInForce="GTX")
    assert code_of(order_params.spot_order, gtx, "BTCUSDT") == (-1115, "Invalid timeInForce.")


def test_spot_limit_maker_is_a_post_only_limit():
    parsed = order_params.spot_order(
        params(side="BUY", type="LIMIT_MAKER", quantity="1", price="100"), "ETHUSDT"
    )
    assert parsed.request.type == core.OrderType.LIMIT
    assert parsed.request.time_in_force == core.TimeInForce.GTX
    assert parsed.resp_type == "ACK"  # Binance's default for types other than MARKET / LIMIT
    with_tif = params(side="BUY", type="LIMIT_MAKER", quantity="1", price="1", timeInForce="GTC")
    assert code_of(order_params.spot_order, with_tif, "ETHUSDT")[0] == -1106


@pytest.mark.parametrize(
    ("binance", "engine"),
    [("STOP_LOSS", core.OrderType.STOP_MARKET), ("TAKE_PROFIT", core.OrderType.TAKE_PROFIT_MARKET)],
)
def test_spot_stop_types_map_to_engine_conditional_market_orders(binance, engine):
    req = order_params.spot_order(
        params(side="SELL", type=binance, quantity="0.1", stopPrice="50000"), "BTCUSDT"
    ).request
    assert req.type == engine and req.stop_price == Decimal("50000")
    missing = params(side="SELL", type=binance, quantity="0.1")
    assert code_of(order_params.spot_order, missing, "BTCUSDT")[0] == -1102


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        ({"price": "100"}, "price"),
        ({"stopPrice": "100"}, "stopPrice"),
        ({"timeInForce": "GTC"}, "timeInForce"),
    ],
)
def test_spot_market_refuses_parameters_it_does_not_take(extra, name):
    p = params(side="BUY", type="MARKET", quantity="1", **extra)
    assert code_of(order_params.spot_order, p, "BTCUSDT") == (
        -1106,
        f"Parameter '{name}' sent when not required.",
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"type": "MARKET", "quantity": "1"}, (-1102, "side")),
        ({"side": "HOLD", "type": "MARKET", "quantity": "1"}, (-1117, "Invalid side.")),
        ({"side": "BUY", "quantity": "1"}, (-1102, "type")),
        ({"side": "BUY", "type": "OCO", "quantity": "1"}, (-1116, "Invalid orderType.")),
        ({"side": "BUY", "type": "STOP_LOSS_LIMIT", "quantity": "1"}, (-1116, "orderType")),
        ({"side": "BUY", "type": "MARKET", "quantity": "1e3"}, (-1100, "quantity")),
        ({"side": "BUY", "type": "MARKET", "quantity": "-1"}, (-1100, "quantity")),
        ({"side": "BUY", "type": "MARKET", "quantity": "abc"}, (-1100, "quantity")),
        ({"side": "BUY", "type": "LIMIT", "quantity": "1"}, (-1102, "price")),
        ({"side": "BUY", "type": "STOP_LOSS", "stopPrice": "1"}, (-1102, "quantity")),
        (
            {"side": "BUY", "type": "MARKET", "quantity": "1", "newClientOrderId": "x" * 37},
            (-1100, "newClientOrderId"),
        ),
        (
            {"side": "BUY", "type": "MARKET", "quantity": "1", "newClientOrderId": "a b"},
            (-1100, "newClientOrderId"),
        ),
        (
            {"side": "BUY", "type": "MARKET", "quantity": "1", "newOrderRespType": "ALL"},
            (-1100, "newOrderRespType"),
        ),
    ],
)
def test_spot_bad_input_gets_binance_codes(values, expected):
    code, msg = code_of(order_params.spot_order, params(**values), "BTCUSDT")
    assert code == expected[0] and expected[1] in msg


@pytest.mark.parametrize(
    ("values", "msg"),
    [
        ({"type": "LIMIT", "price": "10000000.01", "timeInForce": "GTC"}, "PRICE_FILTER"),
        ({"type": "STOP_LOSS", "stopPrice": "99999999999999999999"}, "PRICE_FILTER"),
        ({"type": "MARKET", "quantity": "90000000.1"}, "LOT_SIZE"),
    ],
)
def test_spot_prices_and_quantities_above_exchange_info_ceilings_fail_filters(values, msg):
    p = params(**{"side": "SELL", "quantity": "0.001", **values})
    assert code_of(order_params.spot_order, p, "BTCUSDT") == (-1013, f"Filter failure: {msg}")


def test_futures_prices_and_quantities_above_ceilings():
    price = params(side="SELL", type="LIMIT", quantity="1", price="1e8", timeInForce="GTC")
    assert code_of(order_params.futures_order, price, "BTCUSDT")[0] == -1100
    price = params(side="SELL", type="LIMIT", quantity="1", price="10000001", timeInForce="GTC")
    assert code_of(order_params.futures_order, price, "BTCUSDT")[0] == -4016
    qty = params(side="SELL", type="MARKET", quantity="90000001")
    assert code_of(order_params.futures_order, qty, "BTCUSDT")[0] == -4005


def test_client_order_id_up_to_36_chars_kept_and_generated_when_absent():
    kept = "a.B:c/d_e-" + "9" * 26
    req = order_params.spot_order(
        params(side="BUY", type="MARKET", quantity="1", newClientOrderId=kept), "BTCUSDT"
    ).request
    assert req.client_order_id == kept and len(kept) == 36
    first = order_params.spot_order(params(side="BUY", type="MARKET", quantity="1"), "BTCUSDT")
    second = order_params.spot_order(params(side="BUY", type="MARKET", quantity="1"), "BTCUSDT")
    ids = {first.request.client_order_id, second.request.client_order_id}
    assert len(ids) == 2 and all(len(i) == 22 and i.isalnum() for i in ids)


# --------------------------------------------------------------------------- futures orders


def test_futures_market_as_ccxt_sends_it():
    parsed = order_params.futures_order(
        params(
            symbol="BTCUSDT",
            side="SELL",
            newClientOrderId="x-cvBPrNm9e9469ce6896ee1a3ac498a",
            newOrderRespType="RESULT",
            type="MARKET",
            quantity="0.010",
            reduceOnly="true",
        ),
        "BTCUSDT",
    )
    req = parsed.request
    assert parsed.resp_type == "RESULT" and req.market == core.Market.FUTURES
    assert req.reduce_only is True and req.quantity == Decimal("0.010")
    assert req.side == core.Side.SELL and req.client_order_id.startswith("x-cvBPrNm9")


def test_futures_limit_post_only_and_default_ack():
    parsed = order_params.futures_order(
        params(side="BUY", type="LIMIT", quantity="1", price="2000", timeInForce="GTX"),
        "ETHUSDT",
    )
    assert parsed.request.time_in_force == core.TimeInForce.GTX and parsed.resp_type == "ACK"


@pytest.mark.parametrize(
    "kind", ["STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRAILING_STOP_MARKET"]
)
def test_futures_conditional_types_on_order_endpoint_get_4120(kind):
    p = params(side="BUY", type=kind, quantity="1", stopPrice="100")
    assert code_of(order_params.futures_order, p, "BTCUSDT")[0] == -4120


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"side": "BUY", "type": "LIMIT_MAKER", "quantity": "1"}, -1116),
        ({"side": "BUY", "type": "MARKET"}, -1102),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "price": "1"}, -1106),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "closePosition": "true"}, -1106),
        ({"side": "BUY", "type": "LIMIT", "quantity": "1", "price": "1"}, -1102),
        (
            {"side": "BUY", "type": "LIMIT", "quantity": "1", "price": "1", "timeInForce": "X"},
            -1115,
        ),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "reduceOnly": "yes"}, -1100),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "positionSide": "LONG"}, -4061),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "newOrderRespType": "FULL"}, -1100),
    ],
)
def test_futures_bad_input_gets_binance_codes(values, code):
    assert code_of(order_params.futures_order, params(**values), "BTCUSDT")[0] == code


def test_futures_algo_stop_with_close_position_or_quantity():
    closing = order_params.futures_algo_order(
        params(
            algoType="CONDITIONAL",
            side="SELL",
            type="STOP_MARKET",
            triggerPrice="55000",
            closePosition="true",
            clientAlgoId="x-cvBPrNm9849631487653824256073f",
            workingType="MARK_PRICE",
        ),
        "BTCUSDT",
    ).request
    assert closing.type == core.OrderType.STOP_MARKET and closing.close_position
    assert closing.quantity is None and closing.stop_price == Decimal("55000")
    assert closing.working_type == core.WorkingType.MARK_PRICE
    assert closing.client_order_id == "x-cvBPrNm9849631487653824256073f"
    target = order_params.futures_algo_order(
        params(
            algoType="CONDITIONAL",
            side="SELL",
            type="TAKE_PROFIT_MARKET",
            triggerPrice="70000",
            quantity="0.01",
            reduceOnly="true",
        ),
        "BTCUSDT",
    ).request
    assert target.type == core.OrderType.TAKE_PROFIT_MARKET and target.reduce_only
    neither = params(algoType="CONDITIONAL", side="SELL", type="STOP_MARKET", triggerPrice="1")
    assert code_of(order_params.futures_algo_order, neither, "BTCUSDT")[0] == -1102
    untriggered = params(algoType="CONDITIONAL", side="SELL", type="STOP_MARKET", quantity="1")
    assert code_of(order_params.futures_algo_order, untriggered, "BTCUSDT")[0] == -1102


# --------------------------------------------------------------------------- params, signing


def test_params_reads_query_then_body_and_types_values():
    p = Params("symbol=BTCUSDT&limit=5", "limit=7&flag=TRUE&empty=")
    assert p.str("symbol") == "BTCUSDT" and p.int("limit") == 7
    assert p.bool("flag") is True and "empty" not in p and p.str("empty") is None
    assert code_of(p.required, "empty")[0] == -1102
    assert code_of(p.int, "symbol")[0] == -1100
    assert p.decimal("nothing") is None and p.int("nothing", default=3) == 3


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def test_signature_covers_query_plus_body_as_sent():
    secret = "s3cret"
    query = "timestamp=1&symbol=BTCUSDT"
    body = "side=BUY&quantity=0.001&recvWindow=10000"
    signature = _sign(secret, query + body)
    payload, sent = signing.split_signature(query, f"{body}&signature={signature}")
    assert payload == query + body and sent == signature
    assert signing.signature_valid(secret, payload, sent)
    assert signing.signature_valid(secret, payload, sent.upper())  # hex is case-insensitive
    assert not signing.signature_valid("other", payload, sent)
    # GET / DELETE: everything in the query, signature last.
    get_query = f"timestamp=1&orderId=5&signature={_sign(secret, 'timestamp=1&orderId=5')}"
    payload, sent = signing.split_signature(get_query, "")
    assert payload == "timestamp=1&orderId=5" and signing.signature_valid(secret, payload, sent)
    assert signing.split_signature("timestamp=1", "")[1] is None


def test_timestamp_window_is_binances_rule():
    now = 1_800_000_000_000
    signing.check_timestamp(str(now - 4_999), None, now)
    signing.check_timestamp(str(now + 999), "10000", now)
    assert code_of(signing.check_timestamp, str(now - 5_001), None, now)[0] == -1021
    assert code_of(signing.check_timestamp, str(now + 1_000), None, now)[0] == -1021
    assert code_of(signing.check_timestamp, None, None, now)[0] == -1102
    assert code_of(signing.check_timestamp, "soon", None, now)[0] == -1100
    assert code_of(signing.check_timestamp, str(now), "60001", now)[0] == -1131
