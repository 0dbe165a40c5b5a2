"""A backtest's HTML report: one self-contained page (plotly.js inlined, no network).

Pure: candles, a result and the inputs in, an HTML string out. The page holds the metrics
table, the price with every entry and exit marked, the equity curve with its drawdown below
it, and the trades table. Long histories are thinned for the price chart (at most
MAX_PRICE_POINTS closes, each kept point the last close of its stretch) so the page stays
light; trade markers are always at their exact times and prices.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_CANDLESTICKS = 3000
MAX_PRICE_POINTS = 5000
MAX_TRADE_ROWS = 1000

METRIC_LABELS = {
    "total_return_pct": ("Total return", "%"),
    "cagr_pct": ("CAGR", "%"),
    "sharpe": ("Sharpe", ""),
    "sortino": ("Sortino", ""),
    "calmar": ("Calmar", ""),
    "max_drawdown_pct": ("Max drawdown", "%"),
    "win_rate_pct": ("Win rate", "%"),
    "profit_factor": ("Profit factor", ""),
    "expectancy": ("Expectancy (USDT / trade)", ""),
    "exposure_pct": ("Exposure", "%"),
    "trades": ("Trades", ""),
    "buy_and_hold_return_pct": ("Buy & hold return", "%"),
    "rejected_entries": ("Rejected entries", ""),
}


def metric_text(name: str, value: Any) -> str:
    """A metric as people read it: 2 decimals, its unit, an em dash when undefined."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    unit = METRIC_LABELS.get(name, ("", ""))[1]
    try:
        return f"{float(value):,.2f}{' ' + unit if unit else ''}"
    except (TypeError, ValueError):
        return str(value)


def price_figure(candles: pd.DataFrame, trades: list[Mapping[str, Any]], title: str) -> go.Figure:
    """Candles (or closes, for long histories) with entries (triangles) and exits (x)."""
    fig = go.Figure()
    if len(candles) <= MAX_CANDLESTICKS:
        fig.add_trace(
            go.Candlestick(
                x=candles.index,
                open=candles["open"],
                high=candles["high"],
                low=candles["low"],
                close=candles["close"],
                name="price",
            )
        )
    else:
        step = int(np.ceil(len(candles) / MAX_PRICE_POINTS))
        closes = candles["close"].iloc[step - 1 :: step]
        fig.add_trace(go.Scatter(x=closes.index, y=closes, mode="lines", name="close"))
    for direction, symbol, color in (
        ("long", "triangle-up", "#16a34a"),
        ("short", "triangle-down", "#dc2626"),
    ):
        chosen = [t for t in trades if t.get("direction") == direction]
        if chosen:
            fig.add_trace(
                go.Scatter(
                    x=[pd.Timestamp(t["entry_time"]) for t in chosen],
                    y=[float(t["entry_price"]) for t in chosen],
                    mode="markers",
                    marker={"symbol": symbol, "size": 11, "color": color},
                    name=f"{direction} entry",
                )
            )
    closed = [t for t in trades if t.get("exit_time")]
    if closed:
        fig.add_trace(
            go.Scatter(
                x=[pd.Timestamp(t["exit_time"]) for t in closed],
                y=[float(t["exit_price"]) for t in closed],
                mode="markers",
                marker={"symbol": "x", "size": 9, "color": "#111827"},
                name="exit",
                text=[str(t.get("exit_reason", "")) for t in closed],
            )
        )
    fig.update_layout(
        title=title, height=520, xaxis_rangeslider_visible=False, margin={"t": 50, "b": 30}
    )
    return fig


def equity_figure(equity_curve: list[tuple[int, Any]] | list[list[Any]]) -> go.Figure:
    """The equity curve and, below it, the drawdown from its running peak (percent)."""
    times = pd.to_datetime([int(t) for t, _ in equity_curve], unit="ms", utc=True)
    equity = np.array([float(e) for _, e in equity_curve], dtype=np.float64)
    peaks = np.maximum.accumulate(equity) if len(equity) else equity
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peaks > 0, (equity / peaks - 1.0) * 100.0, 0.0)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    fig.add_trace(go.Scatter(x=times, y=equity, mode="lines", name="equity (USDT)"), 1, 1)
    fig.add_trace(
        go.Scatter(
            x=times,
            y=drawdown,
            mode="lines",
            fill="tozeroy",
            name="drawdown (%)",
            line={"color": "#dc2626"},
        ),
        2,
        1,
    )
    fig.update_yaxes(title_text="equity (USDT)", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_layout(title="Equity and drawdown", height=520, margin={"t": 50, "b": 30})
    return fig


def _table(headers: list[str], rows: list[list[Any]], css: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def report_html(
    *,
    candles: pd.DataFrame,
    trades: list[Mapping[str, Any]],
    equity_curve: list[tuple[int, Any]] | list[list[Any]],
    metrics: Mapping[str, Any],
    inputs: Mapping[str, Any],
) -> str:
    """The whole report page. ``inputs`` are shown as given (symbol, timeframe, strategy,
    params, costs...); ``trades`` are BacktestResult.trades dicts."""
    symbol, timeframe = inputs.get("symbol", ""), inputs.get("timeframe", "")
    title = f"{inputs.get('strategy', '')} on {symbol} {timeframe}"
    price = price_figure(candles, list(trades), f"{symbol} {timeframe}: entries and exits")
    equity = equity_figure(equity_curve)
    metric_rows = [
        [METRIC_LABELS.get(name, (name, ""))[0], metric_text(name, value)]
        for name, value in metrics.items()
    ]
    input_rows = [[key, value] for key, value in inputs.items()]
    trade_headers = [
        "direction",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "quantity",
        "fees",
        "pnl",
        "return_pct",
        "exit_reason",
    ]
    trade_rows = [[t.get(h, "") for h in trade_headers] for t in trades[:MAX_TRADE_ROWS]]
    more = (
        f"<p>Showing the first {MAX_TRADE_ROWS} of {len(trades)} trades.</p>"
        if len(trades) > MAX_TRADE_ROWS
        else ""
    )
    span = (
        f"{candles.index[0]:%Y-%m-%d %H:%M} to {candles.index[-1]:%Y-%m-%d %H:%M} UTC,"
        f" {len(candles)} candles"
        if len(candles)
        else "no candles"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Backtest: {html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#111827}}
table{{border-collapse:collapse;margin:8px 0 24px}}
td,th{{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;font-size:13px}}
.metrics td:last-child{{text-align:right;font-variant-numeric:tabular-nums}}
.grid{{display:flex;gap:32px;flex-wrap:wrap}}
</style></head><body>
<h1>Backtest: {html.escape(title)}</h1>
<p>{html.escape(span)}</p>
<div class="grid"><div><h2>Metrics</h2>{_table(["metric", "value"], metric_rows, "metrics")}</div>
<div><h2>Inputs</h2>{_table(["input", "value"], input_rows, "inputs")}</div></div>
{price.to_html(full_html=False, include_plotlyjs=True, div_id="price-chart")}
{equity.to_html(full_html=False, include_plotlyjs=False, div_id="equity-chart")}
<h2>Trades</h2>{more}{_table(trade_headers, trade_rows, "trades")}
</body></html>
"""
