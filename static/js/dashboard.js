// Tab 1 "Dashboard": live price cards, the candlestick chart with indicator overlays, RSI /
// MACD panels and the user's trade markers, the latest indicator values with plain-word
// hints, portfolio analytics with the equity curve, and the paginated trade list.
//
// Every number shown comes from the API or the price stream; until one arrives the page
// says it is waiting, and when a request fails it says why (inline and in a toast).

import { apiGet, isAbort } from "./api.js";
import {
  fmtCompact,
  fmtDecimal,
  fmtMoney,
  fmtNumber,
  fmtPct,
  fmtPrice,
  fmtQty,
  fmtTime,
  plotlyTime,
  sign,
  utcLabel,
} from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";
import { setStatus } from "./dom.js";

const TF_MS = { "1m": 60e3, "5m": 300e3, "15m": 900e3, "1h": 3600e3, "4h": 14400e3, "1d": 86400e3 };
const CANDLE_LIMIT = 300;
// When a new candle period starts the server may not have it yet: ask at most this often.
const REFETCH_MIN_MS = 10000;
const DRAW_THROTTLE_MS = 300;
// A card with no new price for this long is marked stale even if the server has not said so.
const QUIET_AFTER_S = 30;
const INDICATOR_REFRESH_MS = 30000;
// Trades can change without this page acting (stops, liquidations, the auto-trader).
const TRADES_REFRESH_MS = 10000;
const TRADE_PAGE_SIZE = 20;
const MARKER_LIMIT = 500;
// Below this many candles the time axis gets a fixed window, or plotly zooms to milliseconds.
const FEW_CANDLES = 30;
const STORE = { tf: "cryptobot.timeframe", overlays: "cryptobot.overlays" };
const COLORS = {
  up: "#16c784",
  down: "#ea3943",
  sma: "#f0b90b",
  ema: "#4aa3ff",
  bb: "#a78bfa",
  rsi: "#f0b90b",
  macd: "#4aa3ff",
  signal: "#f59e0b",
  exit: "#e6edf7",
  equity: "#4aa3ff",
  grid: "#1c2330",
  text: "#8b95a7",
};

const $ = (id) => document.getElementById(id);

function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage unavailable: the choice lasts for this page only.
  }
}

// --- price cards -----------------------------------------------------------------------

const cards = new Map(); // symbol -> {el, fields, receivedAt}

function initCards() {
  document.querySelectorAll(".price-card[data-symbol]").forEach((el) => {
    const fields = {};
    el.querySelectorAll("[data-field]").forEach((f) => {
      fields[f.dataset.field] = f;
    });
    cards.set(el.dataset.symbol, { el, fields, receivedAt: 0, price: null });
    el.addEventListener("click", () => shell.setSymbol(el.dataset.symbol));
    el.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        shell.setSymbol(el.dataset.symbol);
      }
    });
  });
  markSelectedCard();
  setInterval(refreshAges, 1000);
}

function markSelectedCard() {
  cards.forEach((card, symbol) => {
    card.el.classList.toggle("selected", symbol === shell.symbol);
    card.el.setAttribute("aria-current", symbol === shell.symbol ? "true" : "false");
  });
}

function updateCard(t) {
  const card = cards.get(t.symbol);
  if (!card) return;
  const { el, fields } = card;
  const price = Number(t.price);
  if (card.price !== null && price !== card.price) {
    // Restart the flash animation even when the previous one is still running.
    el.classList.remove("flash-up", "flash-down");
    void el.offsetWidth;
    el.classList.add(price > card.price ? "flash-up" : "flash-down");
  }
  card.price = price;
  card.receivedAt = Date.now();
  card.source = t.source;
  el.dataset.state = "ready";
  fields.price.textContent = fmtDecimal(t.price);
  fields.price.dataset.value = t.price;
  fields.change.textContent = fmtPct(t.change_24h_pct);
  fields.change.className = `card-change ${sign(Number(t.change_24h_pct))}`;
  fields.bid.textContent = fmtDecimal(t.bid);
  fields.ask.textContent = fmtDecimal(t.ask);
  fields.high_24h.textContent = fmtDecimal(t.high_24h);
  fields.low_24h.textContent = fmtDecimal(t.low_24h);
  fields.volume_24h.textContent = fmtCompact(t.volume_24h);
  card.serverStale = Boolean(t.stale);
  fields.price.title = t.time ? `Exchange time ${t.time}` : "";
  refreshAge(card);
}

// The server flags a price stale when the exchange stopped answering; the page also calls
// it stale when no update has reached it for a while (feed or connection trouble).
function refreshAge(card) {
  if (!card.receivedAt) return;
  const s = Math.round((Date.now() - card.receivedAt) / 1000);
  const from = card.source ? ` · ${card.source}` : "";
  card.fields.age.textContent = s < 2 ? `Updated just now${from}` : `Updated ${s} s ago${from}`;
  const quiet = s > QUIET_AFTER_S;
  const stale = card.serverStale || quiet;
  card.fields.stale.hidden = !stale;
  card.fields.stale.title = card.serverStale
    ? "The exchange has not sent a new price recently; this is the last known one."
    : `No new price has reached this page for ${s} s.`;
  card.el.classList.toggle("is-stale", stale);
}

function refreshAges() {
  cards.forEach(refreshAge);
}

// --- chart -------------------------------------------------------------------------------

const chart = {
  el: $("chart"),
  status: $("chart-status"),
  tf: TF_MS[load(STORE.tf, "1h")] ? load(STORE.tf, "1h") : "1h",
  overlays: { sma: true, ema: true, bb: false, trades: true, ...load(STORE.overlays, {}) },
  candles: [], // {t, o, h, l, c, v}
  rows: [], // indicator rows as sent by the API
  markers: [], // the user's trades on the chart's symbol (GET /trades?symbol=)
  markersSymbol: null,
  controller: null,
  lastFetchAt: 0,
  drawTimer: null,
  drawn: false,
};

function column(rows, pattern) {
  const row = rows.find((r) => r) || {};
  return Object.keys(row).find((k) => pattern.test(k)) || null;
}

function series(rows, key) {
  return rows.map((r) => (key && r[key] !== null && r[key] !== undefined ? Number(r[key]) : null));
}

function traces() {
  return [...priceTraces(), ...markerTraces()];
}

function priceTraces() {
  const { candles, rows, overlays } = chart;
  const x = candles.map((c) => plotlyTime(c.t));
  const out = [
    {
      type: "candlestick",
      name: shell.symbol,
      x,
      open: candles.map((c) => c.o),
      high: candles.map((c) => c.h),
      low: candles.map((c) => c.l),
      close: candles.map((c) => c.c),
      increasing: { line: { color: COLORS.up, width: 1 }, fillcolor: COLORS.up },
      decreasing: { line: { color: COLORS.down, width: 1 }, fillcolor: COLORS.down },
      xaxis: "x",
      yaxis: "y",
      showlegend: false,
    },
  ];
  if (!rows.length) return out;
  // Indicator rows are matched to candles by open time; a missing row is a gap, not a zero.
  const byTime = new Map(rows.map((r) => [Number(r.open_time), r]));
  const aligned = candles.map((c) => byTime.get(c.t) || null);
  const line = (key, name, color, axis, extra = {}) => ({
    type: "scatter",
    mode: "lines",
    name,
    x,
    y: aligned.map((r) => (r && r[key] !== null && r[key] !== undefined ? Number(r[key]) : null)),
    line: { color, width: 1.3 },
    xaxis: "x",
    yaxis: axis,
    hoverinfo: "y+name",
    ...extra,
  });
  const sma = column(rows, /^sma_\d+$/);
  const ema = column(rows, /^ema_\d+$/);
  if (overlays.sma && sma) out.push(line(sma, sma.toUpperCase().replace("_", " "), COLORS.sma, "y"));
  if (overlays.ema && ema) out.push(line(ema, ema.toUpperCase().replace("_", " "), COLORS.ema, "y"));
  if (overlays.bb && column(rows, /^bb_upper$/)) {
    const bb = { color: COLORS.bb, width: 1, dash: "dot" };
    out.push(line("bb_upper", "BB upper", COLORS.bb, "y", { line: bb }));
    out.push(
      line("bb_lower", "BB lower", COLORS.bb, "y", {
        line: bb,
        fill: "tonexty",
        fillcolor: "rgba(167,139,250,0.07)",
      }),
    );
    out.push(line("bb_middle", "BB middle", COLORS.bb, "y", { line: { ...bb, dash: "dash" } }));
  }
  const rsi = column(rows, /^rsi_\d+$/);
  if (rsi) out.push(line(rsi, rsi.toUpperCase().replace("_", " "), COLORS.rsi, "y2"));
  if (column(rows, /^macd$/)) {
    const hist = aligned.map((r) => (r && r.macd_hist !== null ? Number(r.macd_hist) : null));
    out.push({
      type: "bar",
      name: "MACD hist",
      x,
      y: hist,
      marker: { color: hist.map((v) => (v >= 0 ? COLORS.up : COLORS.down)) },
      opacity: 0.6,
      xaxis: "x",
      yaxis: "y3",
      hoverinfo: "y+name",
    });
    out.push(line("macd", "MACD", COLORS.macd, "y3"));
    out.push(line("macd_signal", "Signal", COLORS.signal, "y3"));
  }
  return out;
}

function layout() {
  const axis = {
    gridcolor: COLORS.grid,
    zerolinecolor: COLORS.grid,
    linecolor: COLORS.grid,
    side: "right",
    tickfont: { size: 10 },
    fixedrange: false,
  };
  const hasRows = chart.rows.length > 0;
  const { candles } = chart;
  const step = TF_MS[chart.tf];
  const last = candles.length ? candles[candles.length - 1].t : 0;
  const axisWindow =
    candles.length && candles.length < FEW_CANDLES
      ? { range: [plotlyTime(last - FEW_CANDLES * step), plotlyTime(last + 2 * step)] }
      : {};
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: COLORS.text, size: 11, family: "Inter, system-ui, sans-serif" },
    margin: { l: 8, r: 64, t: 24, b: 28 },
    showlegend: true,
    legend: {
      orientation: "h",
      traceorder: "normal",
      x: 0,
      y: 1.06,
      font: { size: 10 },
      bgcolor: "rgba(0,0,0,0)",
    },
    hovermode: "x unified",
    hoverlabel: { bgcolor: "#141a24", bordercolor: "#2a3344", font: { color: "#d6dde8" } },
    dragmode: "pan",
    bargap: 0.2,
    // Keeps the user's zoom and pan across live redraws of the same symbol and timeframe.
    uirevision: `${shell.symbol}-${chart.tf}`,
    xaxis: {
      ...axis,
      side: "bottom",
      type: "date",
      anchor: hasRows ? "y3" : "y",
      rangeslider: { visible: false },
      ...axisWindow,
      showspikes: true,
      spikemode: "across",
      spikethickness: 1,
      spikecolor: "#3a4558",
      spikedash: "solid",
    },
    yaxis: { ...axis, domain: hasRows ? [0.4, 1] : [0, 1], tickformat: ",~r" },
    yaxis2: { ...axis, domain: [0.21, 0.37], range: [0, 100], tickvals: [30, 50, 70] },
    yaxis3: { ...axis, domain: [0, 0.18] },
    shapes: hasRows
      ? [70, 30].map((level) => ({
          type: "line",
          xref: "paper",
          x0: 0,
          x1: 1,
          yref: "y2",
          y0: level,
          y1: level,
          line: { color: level === 70 ? COLORS.down : COLORS.up, width: 1, dash: "dot" },
        }))
      : [],
    annotations: hasRows
      ? [
          { text: "RSI", y: 0.37 },
          { text: "MACD", y: 0.18 },
        ].map((a) => ({
          ...a,
          xref: "paper",
          yref: "paper",
          x: 0,
          xanchor: "left",
          yanchor: "top",
          showarrow: false,
          font: { size: 10, color: COLORS.text },
        }))
      : [],
  };
}

const PLOT_CONFIG = {
  responsive: true,
  displaylogo: false,
  scrollZoom: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
};

function draw() {
  clearTimeout(chart.drawTimer);
  chart.drawTimer = null;
  if (!window.Plotly || !chart.candles.length) return;
  window.Plotly.react(chart.el, traces(), layout(), PLOT_CONFIG);
  chart.drawn = true;
}

function scheduleDraw() {
  if (!chart.drawTimer) chart.drawTimer = setTimeout(draw, DRAW_THROTTLE_MS);
}

function clearChart() {
  if (window.Plotly && chart.drawn) window.Plotly.purge(chart.el);
  chart.drawn = false;
}

async function loadChart({ quiet = false } = {}) {
  const symbol = shell.symbol;
  if (!symbol) {
    setStatus(chart.status, "No symbol selected: no symbols are watched.", "error");
    setStatus($("ind-status"), "No symbol selected.", "error");
    return;
  }
  if (!window.Plotly) {
    setStatus(chart.status, "The charting library (plotly.js) did not load; reload the page.", "error");
    return;
  }
  if (chart.controller) chart.controller.abort();
  const controller = new AbortController();
  chart.controller = controller;
  chart.lastFetchAt = Date.now();
  const tf = chart.tf;
  $("chart-symbol").textContent = symbol;
  $("chart-tf").textContent = tf;
  if (!quiet) {
    setStatus(chart.status, `Loading ${symbol} ${tf} candles…`);
    setStatus($("ind-status"), "Loading indicators…");
    chart.el.setAttribute("aria-busy", "true");
  }
  const query = `symbol=${encodeURIComponent(symbol)}&timeframe=${tf}&limit=${CANDLE_LIMIT}`;
  const [candles, indicators] = await Promise.allSettled([
    apiGet(`/candles?${query}`, { signal: controller.signal }),
    apiGet(`/features/indicators?${query}`, { signal: controller.signal }),
  ]);
  if (controller.signal.aborted) return; // a newer symbol or timeframe took over
  chart.controller = null;
  chart.el.removeAttribute("aria-busy");

  if (candles.status === "rejected") {
    if (isAbort(candles.reason)) return;
    const msg = `Candles for ${symbol} ${tf} could not be loaded: ${candles.reason.message}`;
    setStatus(chart.status, msg, "error");
    if (!quiet) toast(msg, { kind: "error" });
    if (!quiet) {
      chart.candles = [];
      clearChart();
    }
  } else {
    chart.candles = (candles.value.candles || []).map((c) => ({
      t: Number(c.open_time),
      o: Number(c.open),
      h: Number(c.high),
      l: Number(c.low),
      c: Number(c.close),
      v: Number(c.volume),
    }));
    const n = chart.candles.length;
    if (!n) {
      setStatus(chart.status, `No ${tf} candles are stored for ${symbol} yet.`, "warning");
      clearChart();
    } else if (n < FEW_CANDLES) {
      const what = n === 1 ? "1 candle is" : `${n} candles are`;
      setStatus(chart.status, `Only ${what} stored for ${symbol} ${tf} so far.`, "warning");
    } else {
      setStatus(chart.status, "");
    }
  }

  if (indicators.status === "rejected") {
    if (isAbort(indicators.reason)) return;
    const msg = `Indicators could not be loaded: ${indicators.reason.message}`;
    if (!quiet || !chart.rows.length) {
      chart.rows = [];
      renderIndicators();
    }
    setStatus($("ind-status"), msg, "error");
    if (!quiet) toast(msg, { kind: "error" });
  } else {
    chart.rows = indicators.value.rows || [];
    renderIndicators();
  }
  draw();
}

// Live prices move the forming candle; a new period means the server has a new candle.
function onLivePrice(t) {
  if (t.symbol !== shell.symbol || !chart.candles.length || chart.controller) return;
  const price = Number(t.price);
  const ts = Number(t.timestamp);
  if (!Number.isFinite(price) || !Number.isFinite(ts)) return;
  const step = TF_MS[chart.tf];
  const period = Math.floor(ts / step) * step;
  const last = chart.candles[chart.candles.length - 1];
  if (period === last.t) {
    last.c = price;
    last.h = Math.max(last.h, price);
    last.l = Math.min(last.l, price);
    scheduleDraw();
  } else if (period > last.t && Date.now() - chart.lastFetchAt > REFETCH_MIN_MS) {
    loadChart({ quiet: true });
  }
}

// --- indicator panel ----------------------------------------------------------------------

function hintRsi(v) {
  if (v >= 70) return ["Overbought: price rose fast; pullbacks are common", "down"];
  if (v <= 30) return ["Oversold: price fell fast; bounces are common", "up"];
  return v >= 50 ? ["Neutral, leaning bullish", "flat"] : ["Neutral, leaning bearish", "flat"];
}

function hintMacd(hist, prevHist) {
  const crossed = prevHist !== null && Math.sign(hist) !== Math.sign(prevHist);
  if (hist >= 0) {
    return [crossed ? "Bullish crossover: MACD just rose above its signal" : "Bullish: MACD above its signal", "up"];
  }
  return [crossed ? "Bearish crossover: MACD just fell below its signal" : "Bearish: MACD below its signal", "down"];
}

function hintStoch(k, d) {
  const dir = d === null ? "" : k >= d ? "; %K above %D (rising)" : "; %K below %D (falling)";
  if (k >= 80) return [`Overbought zone${dir}`, "down"];
  if (k <= 20) return [`Oversold zone${dir}`, "up"];
  return [`Mid-range${dir}`, "flat"];
}

function hintAdx(v) {
  if (v < 20) return ["Weak or no trend: ranging market", "flat"];
  if (v < 25) return ["A trend may be forming", "flat"];
  if (v < 50) return ["Strong trend (ADX shows strength, not direction)", "flat"];
  return ["Very strong trend (ADX shows strength, not direction)", "flat"];
}

function renderIndicators() {
  const list = $("ind-list");
  const status = $("ind-status");
  const rows = chart.rows;
  list.replaceChildren();
  if (!rows.length) {
    $("ind-meta").textContent = "";
    setStatus(status, `No indicator values for ${shell.symbol} ${chart.tf} yet.`, "warning");
    return;
  }
  setStatus(status, "");
  const last = rows[rows.length - 1];
  const prev = rows.length > 1 ? rows[rows.length - 2] : null;
  const back = rows.length > 10 ? rows[rows.length - 11] : null;
  const num = (row, key) =>
    row && key && row[key] !== null && row[key] !== undefined ? Number(row[key]) : null;
  const close = num(last, "close");
  $("ind-meta").textContent = `${utcLabel(Number(last.open_time))} · ${chart.tf}`;

  const rsiKey = column(rows, /^rsi_\d+$/);
  const atrKey = column(rows, /^atr_\d+$/);
  const adxKey = column(rows, /^adx_\d+$/);
  const entries = [];
  const add = (label, value, text, hint) => entries.push({ label, value, text, hint });

  const rsi = num(last, rsiKey);
  add(rsiKey ? rsiKey.toUpperCase().replace("_", " ") : "RSI", rsi, fmtNumber(rsi, { digits: 1 }), rsi === null ? null : hintRsi(rsi));

  const macd = num(last, "macd");
  const signal = num(last, "macd_signal");
  const hist = num(last, "macd_hist");
  add(
    "MACD",
    macd,
    macd === null ? "—" : `${fmtNumber(macd)} / ${fmtNumber(signal)}`,
    hist === null ? null : hintMacd(hist, num(prev, "macd_hist")),
  );

  const atr = num(last, atrKey);
  add(
    atrKey ? atrKey.toUpperCase().replace("_", " ") : "ATR",
    atr,
    fmtNumber(atr),
    atr === null || !close ? null : [`Typical range per candle ≈ ${((atr / close) * 100).toFixed(2)}% of price`, "flat"],
  );

  const k = num(last, "stoch_k");
  const d = num(last, "stoch_d");
  add("Stoch %K / %D", k, k === null ? "—" : `${fmtNumber(k, { digits: 1 })} / ${fmtNumber(d, { digits: 1 })}`, k === null ? null : hintStoch(k, d));

  const adx = num(last, adxKey);
  add(adxKey ? adxKey.toUpperCase().replace("_", " ") : "ADX", adx, fmtNumber(adx, { digits: 1 }), adx === null ? null : hintAdx(adx));

  const obv = num(last, "obv");
  const obvBack = num(back, "obv");
  let obvHint = ["Its direction needs 10 candles of history", "flat"];
  if (obv !== null && obvBack !== null) {
    obvHint =
      obv >= obvBack
        ? ["Rising over 10 candles: volume flows in (buying pressure)", "up"]
        : ["Falling over 10 candles: volume flows out (selling pressure)", "down"];
  }
  add("OBV", obv, fmtCompact(obv), obvHint);

  const vwap = num(last, "vwap");
  add(
    "VWAP",
    vwap,
    fmtNumber(vwap),
    vwap === null || close === null
      ? null
      : close >= vwap
        ? ["Price above VWAP: buyers in control on average", "up"]
        : ["Price below VWAP: sellers in control on average", "down"],
  );

  for (const e of entries) {
    const row = document.createElement("div");
    row.className = "ind-row";
    const dt = document.createElement("dt");
    dt.textContent = e.label;
    const dd = document.createElement("dd");
    dd.className = "num";
    dd.textContent = e.value === null ? "—" : e.text;
    const hint = document.createElement("p");
    hint.className = `ind-hint ${e.hint ? e.hint[1] : "muted"}`;
    hint.textContent = e.value === null ? "Not enough candles yet (warming up)." : e.hint ? e.hint[0] : "";
    row.append(dt, dd, hint);
    list.append(row);
  }
}

// --- trade markers ---------------------------------------------------------------------------

// The size a trade was opened with. A flat trade may report `quantity` "0" (what is left),
// so `entered_qty` is preferred when the server sends it; a bare zero is shown as unknown.
function tradeQty(trade) {
  if (trade.entered_qty !== undefined && trade.entered_qty !== null) return trade.entered_qty;
  return Number(trade.quantity) === 0 && trade.status !== "open" ? null : trade.quantity;
}

// Entries ▲ (long) / ▼ (short) at the entry price, exits ✕ at the exit price, each placed on
// the candle it happened in; trades outside the loaded candles are left out so the axes
// keep following the candles.
function markerTraces() {
  const { candles, markers, overlays } = chart;
  if (!overlays.trades || !candles.length || chart.markersSymbol !== shell.symbol) return [];
  const step = TF_MS[chart.tf];
  const first = candles[0].t;
  const last = candles[candles.length - 1].t;
  const onChart = (ms) => {
    if (!Number.isFinite(ms)) return null;
    const t = Math.floor(ms / step) * step;
    return t >= first && t <= last ? plotlyTime(t) : null;
  };
  const groups = {
    long: { name: "Long entry", symbol: "triangle-up", color: COLORS.up, x: [], y: [], text: [] },
    short: {
      name: "Short entry",
      symbol: "triangle-down",
      color: COLORS.down,
      x: [],
      y: [],
      text: [],
    },
    exit: { name: "Exit", symbol: "x-thin-open", color: COLORS.exit, x: [], y: [], text: [] },
  };
  for (const trade of markers) {
    const side = String(trade.direction).toUpperCase();
    const qty = tradeQty(trade);
    const label = `#${trade.id} ${side}${qty ? ` ${fmtQty(qty)}` : ""}`;
    const opened = onChart(Date.parse(trade.opened_at));
    if (opened && trade.entry_price && groups[trade.direction]) {
      const g = groups[trade.direction];
      g.x.push(opened);
      g.y.push(Number(trade.entry_price));
      g.text.push(
        `${label} entry @ ${fmtPrice(trade.entry_price)}<br>${fmtTime(trade.opened_at)} UTC`,
      );
    }
    const closed = trade.closed_at ? onChart(Date.parse(trade.closed_at)) : null;
    if (closed && trade.exit_price) {
      const pnl = fmtMoney(trade.net_pnl ?? trade.realized_pnl, { signed: true });
      const why = trade.close_reason ? ` (${trade.close_reason})` : "";
      groups.exit.x.push(closed);
      groups.exit.y.push(Number(trade.exit_price));
      groups.exit.text.push(
        `${label} exit @ ${fmtPrice(trade.exit_price)}${why}<br>PnL ${pnl} USDT · ${fmtTime(trade.closed_at)} UTC`,
      );
    }
  }
  return Object.values(groups)
    .filter((g) => g.x.length)
    .map((g) => ({
      type: "scatter",
      mode: "markers",
      name: g.name,
      x: g.x,
      y: g.y,
      text: g.text,
      hovertemplate: "%{text}<extra></extra>",
      marker: {
        symbol: g.symbol,
        size: g.symbol.startsWith("x") ? 11 : 12,
        color: g.color,
        line: {
          color: g.symbol.startsWith("x") ? g.color : "#0b0e14",
          width: g.symbol.startsWith("x") ? 2.5 : 1,
        },
      },
      xaxis: "x",
      yaxis: "y",
    }));
}

async function loadMarkers() {
  const symbol = shell.symbol;
  if (!symbol) return;
  try {
    const body = await apiGet(
      `/trades?symbol=${encodeURIComponent(symbol)}&page_size=${MARKER_LIMIT}`,
      { retries: 1 },
    );
    if (symbol !== shell.symbol) return; // the symbol changed while this was in flight
    chart.markers = (body.results || []).filter((t) => t.status !== "canceled");
    chart.markersSymbol = symbol;
    if (chart.candles.length) scheduleDraw();
  } catch (error) {
    // The chart stays useful without markers; the trade list below reports the failure.
    chart.markers = [];
  }
}

// --- portfolio analytics -------------------------------------------------------------------

const analytics = { drawn: false, failed: false };

// win_rate arrives as a ratio (0..1).
const STAT_FORMAT = {
  total_pnl: (v) => [fmtMoney(v, { signed: true }), sign(Number(v))],
  realized_pnl: (v) => [fmtMoney(v, { signed: true }), sign(Number(v))],
  unrealized_pnl: (v) => [fmtMoney(v, { signed: true }), sign(Number(v))],
  fees_paid: (v) => [fmtMoney(v), "flat"],
  trades_count: (v) => [v === null || v === undefined ? "—" : String(v), "flat"],
  win_rate: (v) => [
    v === null || v === undefined ? "—" : `${(Number(v) * 100).toFixed(1)}%`,
    "flat",
  ],
  profit_factor: (v) => [
    fmtNumber(v, { digits: 2 }),
    v === null ? "flat" : Number(v) >= 1 ? "up" : "down",
  ],
  expectancy: (v) => [fmtMoney(v, { signed: true }), sign(Number(v))],
  avg_win: (v) => [fmtMoney(v), "up"],
  avg_loss: (v) => [fmtMoney(v), "down"],
  max_drawdown_pct: (v) => [
    v === null || v === undefined ? "—" : `${Number(v).toFixed(2)}%`,
    "flat",
  ],
  sharpe: (v) => [fmtNumber(v, { digits: 2 }), "flat"],
  sortino: (v) => [fmtNumber(v, { digits: 2 }), "flat"],
  equity: (v) => [fmtMoney(v), "flat"],
};

function renderAnalytics(data) {
  document.querySelectorAll("#analytics-stats [data-stat]").forEach((node) => {
    const key = node.dataset.stat;
    const value = data[key];
    const [text, kind] = STAT_FORMAT[key](value ?? null);
    const dd = node.querySelector("dd");
    dd.textContent = value === null || value === undefined ? "—" : text;
    dd.className = `num ${value === null || value === undefined ? "flat" : kind}`;
  });
  // One point (the account as it stands) is not a curve yet.
  const curve = data.equity_curve || [];
  const el = $("equity-chart");
  const enough = curve.length >= 2;
  $("equity-empty").hidden = enough;
  el.hidden = !enough;
  if (!enough || !window.Plotly) return;
  const x = curve.map((p) => plotlyTime(Number(p.time)));
  const y = curve.map((p) => Number(p.equity));
  const trace = {
    type: "scatter",
    mode: curve.length < 40 ? "lines+markers" : "lines",
    name: "Equity",
    x,
    y,
    line: { color: COLORS.equity, width: 1.6, shape: "hv" },
    marker: { size: 4 },
    fill: "tozeroy",
    fillcolor: "rgba(74,163,255,0.08)",
    hovertemplate: "%{y:,.2f} USDT<br>%{x} UTC<extra></extra>",
  };
  const lo = Math.min(...y);
  const hi = Math.max(...y);
  // Small moves stay visible: the axis hugs the curve instead of starting at zero.
  const pad = Math.max((hi - lo) * 0.15, 0.5);
  const axis = {
    gridcolor: COLORS.grid,
    zerolinecolor: COLORS.grid,
    linecolor: COLORS.grid,
    tickfont: { size: 10 },
  };
  window.Plotly.react(
    el,
    [trace],
    {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: COLORS.text, size: 11, family: "Inter, system-ui, sans-serif" },
      margin: { l: 8, r: 64, t: 8, b: 28 },
      showlegend: false,
      hovermode: "x unified",
      hoverlabel: { bgcolor: "#141a24", bordercolor: "#2a3344", font: { color: "#d6dde8" } },
      xaxis: { ...axis, type: "date" },
      yaxis: { ...axis, side: "right", range: [lo - pad, hi + pad], tickformat: ",.2f" },
      uirevision: "equity",
    },
    { responsive: true, displaylogo: false, displayModeBar: false },
  );
  analytics.drawn = true;
}

async function loadAnalytics() {
  const status = $("analytics-status");
  try {
    const data = await apiGet("/trades/analytics", { retries: 1 });
    setStatus(status, "");
    analytics.failed = false;
    renderAnalytics(data);
  } catch (error) {
    const msg = `Portfolio analytics could not be loaded: ${error.message}`;
    setStatus(status, msg, "error");
    if (!analytics.failed) toast(msg, { kind: "error" });
    analytics.failed = true;
  }
}

// --- trade list ------------------------------------------------------------------------------

const tradeList = {
  page: 1,
  count: 0,
  controller: null,
  failed: false,
  lastFetchAt: 0,
  shown: null, // the query of the rows on screen
};

function tradeCell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderTradeList(body) {
  const rows = $("trade-list-rows");
  const results = body.results || [];
  tradeList.count = Number(body.count) || 0;
  rows.replaceChildren(
    ...results.map((t) => {
      const tr = document.createElement("tr");
      tr.dataset.tradeId = String(t.id);
      tr.dataset.status = t.status;
      const side = document.createElement("td");
      const badge = document.createElement("span");
      badge.className = `badge badge-${t.direction}`;
      badge.textContent = String(t.direction).toUpperCase();
      side.append(badge);
      if (t.market === "futures") side.append(` ${t.leverage}×`);
      const open = t.status === "open";
      const pnl = open ? t.unrealized_pnl : (t.net_pnl ?? t.realized_pnl);
      const pnlCell = tradeCell(fmtMoney(pnl, { signed: true }), `num ${sign(Number(pnl))}`);
      pnlCell.title = open ? "Unrealized, at the last refresh" : "Net of fees and funding";
      const status = document.createElement("td");
      const sb = document.createElement("span");
      sb.className = `badge badge-status badge-${t.status}`;
      sb.textContent = t.status;
      status.append(sb);
      if (t.close_reason) status.append(` ${t.close_reason}`);
      tr.append(
        tradeCell(String(t.id), "muted"),
        tradeCell(fmtTime(t.opened_at), "num"),
        tradeCell(`${t.symbol}${t.market === "spot" ? " spot" : ""}`),
        side,
        tradeCell(fmtQty(tradeQty(t)), "num"),
        tradeCell(fmtPrice(t.entry_price), "num"),
        tradeCell(fmtPrice(t.exit_price), "num"),
        pnlCell,
        tradeCell(fmtMoney(t.fees), "num"),
        status,
        tradeCell(fmtTime(t.closed_at), "num"),
        tradeCell(t.strategy ? `${t.source} · ${t.strategy}` : t.source, "muted"),
      );
      return tr;
    }),
  );
  const pages = Math.max(1, Math.ceil(tradeList.count / TRADE_PAGE_SIZE));
  $("trade-list").hidden = results.length === 0;
  $("trade-pager").hidden = tradeList.count <= TRADE_PAGE_SIZE;
  $("trade-page").textContent = `Page ${tradeList.page} of ${pages} · ${tradeList.count} trades`;
  $("trade-prev").disabled = !body.previous;
  $("trade-next").disabled = !body.next;
  const filtered = $("trade-filter-status").value || $("trade-filter-symbol").value;
  setStatus(
    $("trade-list-status"),
    results.length
      ? ""
      : filtered
        ? "No trades match these filters."
        : "No trades yet. Open one in the Open Trade tab.",
  );
}

async function loadTradeList() {
  if (tradeList.controller) tradeList.controller.abort();
  const controller = new AbortController();
  tradeList.controller = controller;
  tradeList.lastFetchAt = Date.now();
  const params = new URLSearchParams({
    page: String(tradeList.page),
    page_size: String(TRADE_PAGE_SIZE),
  });
  const status = $("trade-filter-status").value;
  const symbol = $("trade-filter-symbol").value;
  if (status) params.set("status", status);
  if (symbol) params.set("symbol", symbol);
  try {
    const body = await apiGet(`/trades?${params}`, { signal: controller.signal, retries: 1 });
    if (controller.signal.aborted) return;
    tradeList.controller = null;
    tradeList.failed = false;
    tradeList.shown = String(params);
    renderTradeList(body);
  } catch (error) {
    if (controller.signal.aborted || isAbort(error)) return;
    tradeList.controller = null;
    if (error.status === 404 && tradeList.page > 1) {
      tradeList.page = 1; // the page emptied (filters or fewer trades): start over
      loadTradeList();
      return;
    }
    const msg = `Trades could not be loaded: ${error.message}`;
    setStatus($("trade-list-status"), msg, "error");
    // Rows of another filter or page would pass for an answer to this one.
    if (tradeList.shown !== String(params)) {
      $("trade-list").hidden = true;
      $("trade-pager").hidden = true;
      tradeList.shown = null;
    }
    if (!tradeList.failed) toast(msg, { kind: "error" });
    tradeList.failed = true;
  }
}

function initTradeList() {
  const refilter = () => {
    tradeList.page = 1;
    loadTradeList();
  };
  $("trade-filter-status").addEventListener("change", refilter);
  $("trade-filter-symbol").addEventListener("change", refilter);
  $("trade-prev").addEventListener("click", () => {
    tradeList.page = Math.max(1, tradeList.page - 1);
    loadTradeList();
  });
  $("trade-next").addEventListener("click", () => {
    tradeList.page += 1;
    loadTradeList();
  });
}

// Everything that shows the user's trades, refreshed together.
function refreshTrades() {
  loadTradeList();
  loadAnalytics();
  loadMarkers();
}

// --- controls -------------------------------------------------------------------------------

function initControls() {
  const tfButtons = [...document.querySelectorAll("#timeframes [data-tf]")];
  const markTf = () =>
    tfButtons.forEach((b) => b.setAttribute("aria-checked", String(b.dataset.tf === chart.tf)));
  markTf();
  tfButtons.forEach((b) =>
    b.addEventListener("click", () => {
      if (b.dataset.tf === chart.tf) return;
      chart.tf = b.dataset.tf;
      save(STORE.tf, chart.tf);
      markTf();
      loadChart();
    }),
  );
  document.querySelectorAll("[data-overlay]").forEach((box) => {
    box.checked = Boolean(chart.overlays[box.dataset.overlay]);
    box.addEventListener("change", () => {
      chart.overlays[box.dataset.overlay] = box.checked;
      save(STORE.overlays, chart.overlays);
      draw();
    });
  });
}

initCards();
initControls();
shell.on("price", ({ ticker }) => {
  updateCard(ticker);
  onLivePrice(ticker);
});
shell.on("symbolchange", () => {
  markSelectedCard();
  chart.markers = [];
  chart.markersSymbol = null;
  loadChart();
  loadMarkers();
});
shell.on("tabchange", ({ key }) => {
  if (key !== "dashboard") return;
  if (window.Plotly && chart.drawn) window.Plotly.Plots.resize(chart.el);
  if (window.Plotly && analytics.drawn) window.Plotly.Plots.resize($("equity-chart"));
  if (Date.now() - tradeList.lastFetchAt > 2000) refreshTrades();
});
// Any trade action anywhere on the page (see balance.js for the event).
shell.on("account", () => refreshTrades());
shell.prices.forEach((t) => updateCard(t));
initTradeList();
loadChart();
refreshTrades();
setInterval(() => {
  const visible = !document.hidden && !$("panel-dashboard")?.hidden;
  if (visible && !tradeList.controller && Date.now() - tradeList.lastFetchAt > TRADES_REFRESH_MS) {
    refreshTrades();
  }
}, 1000);
// Indicator values of the forming candle move with the price: refresh them now and then.
setInterval(() => {
  if (!document.hidden && !chart.controller && Date.now() - chart.lastFetchAt > INDICATOR_REFRESH_MS) {
    loadChart({ quiet: true });
  }
}, 5000);
