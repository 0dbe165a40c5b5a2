// Tab 1 "Dashboard": live price cards, the candlestick chart with indicator overlays and
// RSI / MACD panels, and the latest indicator values with plain-word hints.
//
// Every number shown comes from the API or the price stream; until one arrives the page
// says it is waiting, and when a request fails it says why (inline and in a toast).

import { apiGet, isAbort } from "./api.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";

const TF_MS = { "1m": 60e3, "5m": 300e3, "15m": 900e3, "1h": 3600e3, "4h": 14400e3, "1d": 86400e3 };
const CANDLE_LIMIT = 300;
// When a new candle period starts the server may not have it yet: ask at most this often.
const REFETCH_MIN_MS = 10000;
const DRAW_THROTTLE_MS = 300;
// A card with no new price for this long is marked stale even if the server has not said so.
const QUIET_AFTER_S = 30;
const INDICATOR_REFRESH_MS = 30000;
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

// --- formatting --------------------------------------------------------------------------

// A decimal string from the API, digit-grouped. Its decimals are kept (they follow the
// market's tick size, so prices line up) except trailing zeros past 8 places; it is never
// turned into a float, so no digit is invented or lost.
function fmtDecimal(value) {
  if (value === null || value === undefined || value === "") return "—";
  const str = String(value);
  if (!/^-?\d+(\.\d+)?$/.test(str)) return fmtNumber(Number(str));
  const [int, frac = ""] = str.split(".");
  let trimmed = frac.length > 8 ? frac.replace(/0+$/, "") : frac;
  if (trimmed.length < 2) trimmed = trimmed.padEnd(2, "0");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${grouped}.${trimmed}`;
}

// Analytics numbers (indicators, floats): precision follows magnitude.
function fmtNumber(value, { digits } = {}) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  const v = Number(value);
  const abs = Math.abs(v);
  const max = digits ?? (abs >= 100 ? 2 : abs >= 1 ? 4 : abs >= 0.01 ? 5 : 8);
  return v.toLocaleString("en-US", { maximumFractionDigits: max, minimumFractionDigits: 0 });
}

const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
function fmtCompact(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  return compact.format(Number(value));
}

function fmtPct(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  const v = Number(value);
  return `${v > 0 ? "+" : ""}${v.toFixed(2)}%`;
}

function utcLabel(ms) {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

// Plotly shows date strings as written: pass UTC wall time so the axis reads in UTC.
function plotlyTime(ms) {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

function sign(v) {
  return v > 0 ? "up" : v < 0 ? "down" : "flat";
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
  overlays: { sma: true, ema: true, bb: false, ...load(STORE.overlays, {}) },
  candles: [], // {t, o, h, l, c, v}
  rows: [], // indicator rows as sent by the API
  controller: null,
  lastFetchAt: 0,
  drawTimer: null,
  drawn: false,
};

function setStatus(el, text, kind = "info") {
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}

function column(rows, pattern) {
  const row = rows.find((r) => r) || {};
  return Object.keys(row).find((k) => pattern.test(k)) || null;
}

function series(rows, key) {
  return rows.map((r) => (key && r[key] !== null && r[key] !== undefined ? Number(r[key]) : null));
}

function traces() {
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
  loadChart();
});
shell.on("tabchange", ({ key }) => {
  if (key === "dashboard" && window.Plotly && chart.drawn) window.Plotly.Plots.resize(chart.el);
});
shell.prices.forEach((t) => updateCard(t));
loadChart();
// Indicator values of the forming candle move with the price: refresh them now and then.
setInterval(() => {
  if (!document.hidden && !chart.controller && Date.now() - chart.lastFetchAt > INDICATOR_REFRESH_MS) {
    loadChart({ quiet: true });
  }
}, 5000);
