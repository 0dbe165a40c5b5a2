// Tab 8 "Backtests": run a strategy over stored candles on a Celery worker, follow its
// progress, read the results; sweep a parameter grid and rank the runs.
//
// - The form is built from GET /backtest/strategies: one number input per parameter, with
//   the parameter's range and default.
// - "Run backtest" sends POST /backtest/run once, then polls GET /backtest/{id} until the
//   run is done or failed (progress bar meanwhile). A refusal shows the server's message
//   under the field it names.
// - Results: the metrics, equity with drawdown below it, the price (GET /candles over the
//   backtest's range) with entries (triangles) and exits (x), and the trades table.
// - "Run sweep" sends POST /backtest/sweep with the grid typed as "fast=5,10,20 slow=30,50"
//   and polls GET /backtest/sweep/{id}: a ranked table that fills in as runs finish; a row
//   click shows that run's results.

import { apiDelete, apiGet, apiPost } from "./api.js";
import { fmtMoney, fmtPrice, fmtQty, fmtTime, plotlyTime } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";
import { el, setStatus } from "./dom.js";

const POLL_MS = 700;
const SWEEP_POLL_MS = 1000;
const CANDLE_PAGE = 1000;
const MAX_CANDLE_PAGES = 5;
const COLORS = {
  up: "#16c784",
  down: "#ea3943",
  equity: "#4aa3ff",
  // Entry markers stand apart from the green/red candles they sit on.
  long: "#4aa3ff",
  short: "#f0b90b",
  exit: "#e6edf7",
  grid: "#1c2330",
  text: "#8b95a7",
};
const METRICS = [
  ["total_return_pct", "Total return", "pct"],
  ["buy_and_hold_return_pct", "Buy & hold", "pct"],
  ["cagr_pct", "CAGR", "pct"],
  ["max_drawdown_pct", "Max drawdown", "pct"],
  ["sharpe", "Sharpe", "num"],
  ["sortino", "Sortino", "num"],
  ["calmar", "Calmar", "num"],
  ["win_rate_pct", "Win rate", "pct"],
  ["profit_factor", "Profit factor", "num"],
  ["expectancy", "Expectancy (USDT)", "money"],
  ["exposure_pct", "Exposure", "pct"],
  ["trades", "Trades", "int"],
];

const $ = (id) => document.getElementById(id);
const form = $("bt-form");
const view = {
  strategies: new Map(),
  current: null, // id of the backtest shown
  pollTimer: null,
  sweepId: null,
  sweepTimer: null,
  submitting: false,
};

// --- small helpers -----------------------------------------------------------------------

// Metrics are floats: two decimals, digit-grouped ("1,234.50").
const two = (value) =>
  Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function metricText(value, kind) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  if (kind === "pct") return `${two(value)} %`;
  if (kind === "money") return fmtMoney(value, { signed: true });
  if (kind === "int") return String(value);
  return two(value);
}

const clean = (value) => String(value ?? "").trim().replace(/,/g, "");

// --- the form ----------------------------------------------------------------------------

function renderParams() {
  const strategy = view.strategies.get($("bt-strategy").value);
  const box = $("bt-params");
  box.querySelectorAll(".bt-param").forEach((n) => n.remove());
  $("bt-strategy-hint").textContent = strategy ? strategy.description : "";
  if (!strategy) return;
  strategy.params.forEach((p) => {
    const id = `bt-param-${p.name}`;
    const wrap = el("div", { className: "field bt-param" });
    wrap.append(el("label", { className: "field-label", text: p.name, attrs: { for: id } }));
    const input = el("input", {
      attrs: {
        id,
        type: "number",
        name: `param:${p.name}`,
        min: p.minimum,
        max: p.maximum,
        step: p.type === "int" ? "1" : "any",
        value: p.default,
        title: p.description,
      },
    });
    input.dataset.param = p.name;
    input.dataset.kind = p.type;
    wrap.append(input);
    wrap.append(
      el("p", { className: "field-hint", text: `${p.minimum}–${p.maximum}. ${p.description}` }),
    );
    wrap.append(el("p", { className: "field-error", attrs: { "data-error-for": `params.${p.name}` } }));
    wrap.lastChild.hidden = true;
    box.append(wrap);
  });
}

async function loadStrategies() {
  try {
    const body = await apiGet("/backtest/strategies");
    const select = $("bt-strategy");
    select.replaceChildren();
    body.strategies.forEach((s) => {
      view.strategies.set(s.name, s);
      select.append(el("option", { text: s.name, attrs: { value: s.name } }));
    });
    if (view.strategies.has("sma_cross")) select.value = "sma_cross";
    renderParams();
  } catch (error) {
    setStatus($("bt-error"), `Strategies could not be loaded: ${error.message}`, "error");
  }
}

function formBody() {
  const data = new FormData(form);
  const body = {
    symbol: data.get("symbol"),
    timeframe: data.get("timeframe"),
    strategy: data.get("strategy"),
    market: data.get("market"),
    params: {},
  };
  form.querySelectorAll("[data-param]").forEach((input) => {
    if (input.value.trim() !== "") body.params[input.dataset.param] = Number(input.value);
  });
  for (const name of ["start", "end", "initial_balance", "leverage", "fee_rate", "slippage_bps", "stop_loss_pct", "take_profit_pct"]) {
    const value = clean(data.get(name));
    if (value !== "") body[name] = name === "leverage" ? Number(value) : value;
  }
  if (body.market === "spot") delete body.leverage;
  return body;
}

// "fast=5,10,20 slow=30,50" → {fast: [5, 10, 20], slow: [30, 50]}
function parseGrid(text) {
  const grid = {};
  for (const part of text.trim().split(/\s+/).filter(Boolean)) {
    const [name, values] = part.split("=");
    if (!name || values === undefined) throw new Error(`"${part}": write name=value,value`);
    const list = values.split(",").filter((v) => v !== "").map(Number);
    if (!list.length || list.some((v) => !Number.isFinite(v))) {
      throw new Error(`"${part}": the values must be numbers`);
    }
    grid[name] = list;
  }
  if (!Object.keys(grid).length) throw new Error('Type a grid, e.g. "fast=5,10,20 slow=30,50".');
  return grid;
}

function clearErrors() {
  form.querySelectorAll("[data-error-for]").forEach((n) => {
    n.textContent = "";
    n.hidden = true;
  });
  setStatus($("bt-error"), "");
}

function showError(error) {
  const details = error.details || {};
  const slots = [...form.querySelectorAll("[data-error-for]")];
  const place = (field, text) => {
    const slot =
      slots.find((n) => n.dataset.errorFor.split(" ").includes(field)) ||
      slots.find((n) => n.dataset.errorFor.split(" ").includes(field.split(".")[0]));
    if (!slot) return false;
    slot.textContent = text;
    slot.hidden = false;
    return true;
  };
  let placed = false;
  if (details.parameter) placed = place(details.parameter, error.message);
  else {
    Object.entries(details).forEach(([field, messages]) => {
      const text = [].concat(messages).join(" ");
      placed = place(field, text) || placed;
    });
  }
  setStatus($("bt-error"), error.message, "error");
  if (!placed) toast(error.message, { kind: "error" });
}

async function onSubmit(event) {
  event.preventDefault();
  if (view.submitting) return;
  const mode = event.submitter && event.submitter.value === "sweep" ? "sweep" : "run";
  clearErrors();
  const body = formBody();
  if (mode === "sweep") {
    try {
      body.grid = parseGrid($("bt-grid").value);
    } catch (error) {
      const slot = form.querySelector('[data-error-for="grid metric"]');
      slot.textContent = error.message;
      slot.hidden = false;
      return;
    }
    body.metric = $("bt-metric").value;
  }
  view.submitting = true;
  $("bt-run").disabled = $("bt-sweep").disabled = true;
  try {
    if (mode === "sweep") {
      const sweep = await apiPost("/backtest/sweep", body, { timeout: 20000 });
      toast(`Sweep ${sweep.id}: ${sweep.backtests} backtests queued.`, { kind: "success" });
      followSweep(sweep.id);
    } else {
      const run = await apiPost("/backtest/run", body, { timeout: 20000 });
      follow(run.id);
    }
    loadRecent();
  } catch (error) {
    showError(error);
  } finally {
    view.submitting = false;
    $("bt-run").disabled = $("bt-sweep").disabled = false;
  }
}

// --- one backtest: progress, then results ------------------------------------------------

function follow(id) {
  clearTimeout(view.pollTimer);
  view.current = id;
  setStatus($("bt-status"), `Backtest ${id} queued…`);
  $("bt-progress").hidden = false;
  $("bt-progress").value = 0;
  $("bt-metrics").hidden = true;
  $("bt-charts").hidden = true;
  $("bt-trades-panel").hidden = true;
  poll(id);
}

async function poll(id) {
  if (view.current !== id) return;
  let body;
  try {
    body = await apiGet(`/backtest/${id}`, { retries: 1 });
  } catch (error) {
    setStatus($("bt-status"), `Backtest ${id}: ${error.message}`, "error");
    if (error.status !== 404) view.pollTimer = setTimeout(() => poll(id), POLL_MS * 3);
    return;
  }
  if (view.current !== id) return;
  $("bt-progress").value = body.progress;
  $("bt-result-meta").textContent = `#${body.id} · ${body.strategy} ${JSON.stringify(body.params)} · ${body.symbol} ${body.timeframe}`;
  if (body.status === "queued" || body.status === "running") {
    const pct = Math.round(body.progress * 100);
    setStatus($("bt-status"), body.status === "queued" ? `Backtest ${id} queued…` : `Backtest ${id} running: ${pct} %`);
    view.pollTimer = setTimeout(() => poll(id), POLL_MS);
    return;
  }
  $("bt-progress").hidden = true;
  if (body.status === "failed") {
    setStatus($("bt-status"), `Backtest ${id} failed: ${body.error}`, "error");
    return;
  }
  showResult(body);
  loadRecent();
}

function showResult(body) {
  setStatus(
    $("bt-status"),
    `Backtest ${body.id} done: ${body.candles} candles, ${fmtTime(body.config.start)} to ${fmtTime(body.config.end)} UTC.`,
    "success",
  );
  const grid = $("bt-metrics");
  grid.replaceChildren();
  METRICS.forEach(([key, label, kind]) => {
    const value = (body.metrics || {})[key];
    const row = el("div");
    row.dataset.metric = key;
    row.append(el("dt", { text: label }));
    const dd = el("dd", { className: "num", text: metricText(value, kind) });
    if (kind === "pct" || kind === "money") dd.classList.add(value > 0 ? "up" : value < 0 ? "down" : "flat");
    row.append(dd);
    grid.append(row);
  });
  grid.hidden = false;
  renderTrades(body.trades || []);
  $("bt-charts").hidden = false;
  drawEquity(body.equity_curve || []);
  drawPrice(body).catch((error) => {
    $("bt-price-note").textContent = `Price chart: ${error.message}`;
  });
}

function renderTrades(trades) {
  const rows = $("bt-trade-rows");
  rows.replaceChildren();
  trades.forEach((t, i) => {
    const tr = el("tr");
    const pnl = Number(t.pnl);
    const cells = [
      [String(i + 1)],
      [t.direction, t.direction === "long" ? "up" : "down"],
      [fmtTime(t.entry_time)],
      [fmtPrice(t.entry_price), "num"],
      [fmtTime(t.exit_time)],
      [fmtPrice(t.exit_price), "num"],
      [fmtQty(t.quantity), "num"],
      [fmtMoney(t.fees), "num"],
      [fmtMoney(t.pnl, { signed: true }), `num ${pnl > 0 ? "up" : pnl < 0 ? "down" : "flat"}`],
      [metricText(t.return_pct, "pct"), "num"],
      [t.exit_reason || "—"],
    ];
    cells.forEach(([text, className]) => tr.append(el("td", { text, className })));
    rows.append(tr);
  });
  $("bt-trades-meta").textContent = `${trades.length} trades`;
  $("bt-trades-panel").hidden = false;
}

const layoutBase = () => ({
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { color: COLORS.text, size: 11, family: "Inter, system-ui, sans-serif" },
  margin: { l: 8, r: 64, t: 8, b: 28 },
  hovermode: "x unified",
  legend: { orientation: "h", y: 1.08 },
});
const axis = { gridcolor: COLORS.grid, zerolinecolor: COLORS.grid, linecolor: COLORS.grid };

function drawEquity(curve) {
  if (!window.Plotly || curve.length < 2) return;
  const x = curve.map(([t]) => plotlyTime(Number(t)));
  const equity = curve.map(([, e]) => Number(e));
  let peak = -Infinity;
  const drawdown = equity.map((e) => {
    peak = Math.max(peak, e);
    return peak > 0 ? (e / peak - 1) * 100 : 0;
  });
  window.Plotly.react(
    $("bt-equity-chart"),
    [
      { type: "scatter", mode: "lines", name: "Equity (USDT)", x, y: equity, line: { color: COLORS.equity, width: 1.6 } },
      { type: "scatter", mode: "lines", name: "Drawdown (%)", x, y: drawdown, yaxis: "y2", fill: "tozeroy", line: { color: COLORS.down, width: 1 } },
    ],
    {
      ...layoutBase(),
      xaxis: { ...axis, type: "date" },
      yaxis: { ...axis, side: "right", domain: [0.32, 1], tickformat: ",.0f" },
      yaxis2: { ...axis, side: "right", domain: [0, 0.26], ticksuffix: " %" },
    },
    { responsive: true, displaylogo: false, displayModeBar: false },
  );
}

async function drawPrice(body) {
  if (!window.Plotly) return;
  const candles = [];
  let start = body.config.start;
  let pages = 0;
  while (pages < MAX_CANDLE_PAGES) {
    const query = `symbol=${encodeURIComponent(body.symbol)}&timeframe=${body.timeframe}&start=${start}&end=${body.config.end}&limit=${CANDLE_PAGE}`;
    const page = await apiGet(`/candles?${query}`);
    const rows = page.candles || [];
    candles.push(...rows);
    pages += 1;
    if (rows.length < CANDLE_PAGE) break;
    start = Number(rows[rows.length - 1].open_time) + 1;
  }
  if (view.current !== body.id) return;
  const last = candles.length ? Number(candles[candles.length - 1].open_time) : 0;
  $("bt-price-note").textContent =
    pages >= MAX_CANDLE_PAGES && last < body.config.end ? `Price: the first ${candles.length} candles.` : "";
  const trades = body.trades || [];
  const shown = (ms) => ms <= last;
  const marker = (list, side, symbol, color, name) => ({
    type: "scatter",
    mode: "markers",
    name,
    x: list.map((t) => plotlyTime(t[`${side}_time_ms`] ?? Date.parse(t[`${side}_time`]))),
    y: list.map((t) => Number(t[`${side}_price`])),
    marker: { symbol, size: 12, color, line: { width: 1, color: "#0b0f17" } },
  });
  const entryMs = (t) => t.entry_time_ms ?? Date.parse(t.entry_time);
  const exitMs = (t) => t.exit_time_ms ?? Date.parse(t.exit_time);
  const longs = trades.filter((t) => t.direction === "long" && shown(entryMs(t)));
  const shorts = trades.filter((t) => t.direction === "short" && shown(entryMs(t)));
  const exits = trades.filter((t) => t.exit_time && shown(exitMs(t)));
  window.Plotly.react(
    $("bt-price-chart"),
    [
      {
        type: "candlestick",
        name: body.symbol,
        x: candles.map((c) => plotlyTime(Number(c.open_time))),
        open: candles.map((c) => c.open),
        high: candles.map((c) => c.high),
        low: candles.map((c) => c.low),
        close: candles.map((c) => c.close),
        increasing: { line: { color: COLORS.up } },
        decreasing: { line: { color: COLORS.down } },
      },
      marker(longs, "entry", "triangle-up", COLORS.long, "Long entry"),
      marker(shorts, "entry", "triangle-down", COLORS.short, "Short entry"),
      marker(exits, "exit", "x", COLORS.exit, "Exit"),
    ],
    {
      ...layoutBase(),
      xaxis: { ...axis, type: "date", rangeslider: { visible: false } },
      yaxis: { ...axis, side: "right", tickformat: ",.2f" },
    },
    { responsive: true, displaylogo: false, displayModeBar: false },
  );
}

// --- sweeps --------------------------------------------------------------------------------

function followSweep(id) {
  clearTimeout(view.sweepTimer);
  view.sweepId = id;
  $("bt-sweep-panel").hidden = false;
  setStatus($("bt-sweep-status"), `Sweep ${id} queued…`);
  pollSweep(id);
}

async function pollSweep(id) {
  if (view.sweepId !== id) return;
  let body;
  try {
    body = await apiGet(`/backtest/sweep/${id}`, { retries: 1 });
  } catch (error) {
    setStatus($("bt-sweep-status"), `Sweep ${id}: ${error.message}`, "error");
    if (error.status !== 404) view.sweepTimer = setTimeout(() => pollSweep(id), SWEEP_POLL_MS * 3);
    return;
  }
  renderSweep(body);
  if (body.status === "queued" || body.status === "running") {
    view.sweepTimer = setTimeout(() => pollSweep(id), SWEEP_POLL_MS);
  } else {
    loadRecent();
  }
}

function renderSweep(body) {
  $("bt-sweep-progress").value = body.progress;
  $("bt-sweep-meta").textContent = `#${body.id} · ${body.strategy} · ${body.symbol} ${body.timeframe} · ranked by ${body.metric}`;
  const skipped = body.skipped ? `, ${body.skipped} invalid sets skipped` : "";
  const failed = body.failed ? `, ${body.failed} failed` : "";
  setStatus(
    $("bt-sweep-status"),
    `Sweep ${body.id} ${body.status}: ${body.finished} of ${body.total} runs finished${failed}${skipped}.`,
    body.status === "done" ? "success" : "info",
  );
  const names = Object.keys(body.grid || {});
  const head = $("bt-sweep-head");
  head.replaceChildren(
    ...["Rank", ...names, body.metric, "Return", "Max DD", "Trades", "Status"].map((text) =>
      el("th", { text, attrs: { scope: "col" } }),
    ),
  );
  const rows = $("bt-sweep-rows");
  rows.replaceChildren();
  body.results.forEach((r) => {
    const m = r.metrics || {};
    const tr = el("tr", { attrs: { "data-backtest": r.id, title: "Show this run" } });
    tr.style.cursor = "pointer";
    const cells = [
      r.rank ?? "—",
      ...names.map((n) => r.params[n]),
      metricText(m[body.metric], body.metric.endsWith("_pct") ? "pct" : "num"),
      metricText(m.total_return_pct, "pct"),
      metricText(m.max_drawdown_pct, "pct"),
      m.trades ?? "—",
      r.status,
    ];
    cells.forEach((text) => tr.append(el("td", { text: String(text) })));
    tr.addEventListener("click", () => follow(r.id));
    rows.append(tr);
  });
}

// --- recent runs ---------------------------------------------------------------------------

async function loadRecent() {
  try {
    const body = await apiGet("/backtest/?page_size=15");
    const rows = $("bt-recent-rows");
    rows.replaceChildren();
    body.results.forEach((b) => {
      const m = b.metrics || {};
      const tr = el("tr", { attrs: { "data-backtest": b.id } });
      const cells = [
        `#${b.id}`,
        b.strategy,
        `${b.symbol} ${b.timeframe}`,
        JSON.stringify(b.params),
        b.sweep ? `${b.status} (sweep ${b.sweep})` : b.status,
        metricText(m.total_return_pct, "pct"),
        metricText(m.sharpe, "num"),
        m.trades ?? "—",
        fmtTime(b.created_at),
      ];
      cells.forEach((text) => tr.append(el("td", { text: String(text) })));
      const actions = el("td");
      const show = el("button", { className: "btn btn-xs", text: "Show", attrs: { type: "button" } });
      show.addEventListener("click", () => follow(b.id));
      const del = el("button", { className: "btn btn-xs btn-danger", text: "Delete", attrs: { type: "button" } });
      del.addEventListener("click", () => remove(b.id));
      actions.append(show, " ", del);
      tr.append(actions);
      rows.append(tr);
    });
    $("bt-recent").hidden = !body.results.length;
    setStatus($("bt-recent-status"), body.results.length ? "" : "No backtests yet.");
  } catch (error) {
    setStatus($("bt-recent-status"), `Backtests could not be loaded: ${error.message}`, "error");
  }
}

async function remove(id) {
  try {
    await apiDelete(`/backtest/${id}`);
    if (view.current === id) {
      view.current = null;
      setStatus($("bt-status"), `Backtest ${id} deleted.`);
      $("bt-metrics").hidden = $("bt-charts").hidden = $("bt-trades-panel").hidden = true;
    }
    loadRecent();
  } catch (error) {
    toast(`Backtest ${id} could not be deleted: ${error.message}`, { kind: "error" });
  }
}

// --- wiring ----------------------------------------------------------------------------------

if (form) {
  $("bt-strategy").addEventListener("change", renderParams);
  $("bt-symbol").value = shell.symbol || $("bt-symbol").value;
  form.addEventListener("submit", onSubmit);
  shell.on("symbolchange", ({ symbol }) => {
    $("bt-symbol").value = symbol;
  });
  shell.on("tabchange", ({ key }) => {
    if (key !== "backtests" || !window.Plotly) return;
    ["bt-equity-chart", "bt-price-chart"].forEach((id) => {
      if ($(id).data) window.Plotly.Plots.resize($(id));
    });
  });
  loadStrategies();
  loadRecent();
}
