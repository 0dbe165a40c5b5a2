"""Market-data, paper-trading, futures and API-key routes (see docs/API.md)."""

from django.urls import path

from trading.api import api_key_views as keys
from trading.api import auto_trading_views as auto
from trading.api import backtest_views as backtests
from trading.api import futures_views as futures
from trading.api import paper_views as paper
from trading.api.views import CandleListApi, IndicatorListApi, PriceDetailApi, PriceListApi

urlpatterns = [
    path("price", PriceListApi.as_view(), name="price-list"),
    path("price/<path:symbol>", PriceDetailApi.as_view(), name="price-detail"),
    path("candles", CandleListApi.as_view(), name="candle-list"),
    path("features/indicators", IndicatorListApi.as_view(), name="indicator-list"),
    path("virtual_balance", paper.BalanceApi.as_view(), name="balance"),
    path("virtual_balance/reset", paper.BalanceResetApi.as_view(), name="balance-reset"),
    path("trade", paper.TradeOpenApi.as_view(), name="trade-open"),
    path("trades", paper.TradeListApi.as_view(), name="trade-list"),
    path("trades/analytics", paper.TradeAnalyticsApi.as_view(), name="trade-analytics"),
    path("trades/<int:number>", paper.TradeDetailApi.as_view(), name="trade-detail"),
    path("trades/<int:number>/close", paper.TradeCloseApi.as_view(), name="trade-close"),
    path("trades/<int:number>/update", paper.TradeUpdateApi.as_view(), name="trade-update"),
    path("risk_settings", paper.RiskSettingsApi.as_view(), name="risk-settings"),
    path("safety/check", paper.SafetyCheckApi.as_view(), name="safety-check"),
    path("futures/account", futures.FuturesAccountApi.as_view(), name="futures-account"),
    path("futures/positions", futures.FuturesPositionListApi.as_view(), name="futures-positions"),
    path("futures/orders", futures.FuturesOrderListApi.as_view(), name="futures-orders"),
    path("futures/order", futures.FuturesOrderPlaceApi.as_view(), name="futures-order"),
    path(
        "futures/order/<int:number>",
        futures.FuturesOrderCancelApi.as_view(),
        name="futures-order-cancel",
    ),
    path("futures/leverage", futures.FuturesLeverageApi.as_view(), name="futures-leverage"),
    path("futures/margin_type", futures.FuturesMarginTypeApi.as_view(), name="futures-margin"),
    path("futures/signals", futures.FuturesSignalListApi.as_view(), name="futures-signals"),
    path("api_keys", keys.ApiKeyListApi.as_view(), name="api-keys"),
    path("api_keys/<int:key_id>", keys.ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
    path("auto_trading/status", auto.AutoTradingStatusApi.as_view(), name="auto-status"),
    path("auto_trading/start", auto.AutoTradingStartApi.as_view(), name="auto-start"),
    path("auto_trading/stop", auto.AutoTradingStopApi.as_view(), name="auto-stop"),
    path("auto_trading/config", auto.AutoTradingConfigApi.as_view(), name="auto-config"),
    path("backtest/run", backtests.BacktestRunApi.as_view(), name="backtest-run"),
    path("backtest/", backtests.BacktestListApi.as_view(), name="backtest-list"),
    path("backtest/sweep", backtests.BacktestSweepApi.as_view(), name="backtest-sweep"),
    path(
        "backtest/sweep/<int:sweep_id>",
        backtests.BacktestSweepDetailApi.as_view(),
        name="backtest-sweep-detail",
    ),
    path(
        "backtest/strategies",
        backtests.BacktestStrategyListApi.as_view(),
        name="backtest-strategies",
    ),
    path(
        "backtest/<int:backtest_id>", backtests.BacktestDetailApi.as_view(), name="backtest-detail"
    ),
]
