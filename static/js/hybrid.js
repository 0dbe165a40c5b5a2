// Tab 5 "Hybrid Learning": the batch and the online model of the sidebar's symbol (1h),
// how the hybrid weighs them, its blended prediction, the online model's figures and
// controls, data collection, the three models' live performance over time, and the
// hybrid's shared configuration.
//
// - GET /ml/hybrid/status: each model's health, the weights and the metric values they
//   come from, the last scored candle, drift.
// - GET /ml/hybrid/predict: the blend's p(up) with both components (409
//   not_enough_candles when neither model can predict is explained, not a page failure).
// - GET /ml/online/stats; POST /ml/online/pause, /ml/online/resume and /ml/online/reset
//   {symbol, timeframe, algorithm} (after a confirmation).
// - GET /ml/data_collection/stats; POST /ml/data_collection/start|stop {symbol, timeframe}.
// - GET /ml/performance/history?symbol=&timeframe=&model=&since=: log loss or accuracy and
//   the signal PnL of batch, online and hybrid (plotly). A range is always sent: the route
//   answers at most 5,000 snapshots, oldest first.
// - GET+POST /ml/hybrid/config: staff only change it (403 otherwise); only the fields that
//   differ from the saved ones are sent, a 400 names the field and its message goes under
//   it; after a save the values are read back from the server.
// Data loads when the tab is shown and every 30 s while it is visible; symbol and model
// changes made while it is hidden mark it stale ("symbolchange", "modelchange").

import { apiGet, apiPost } from "./api.js";
import { clearFieldErrors, el, setStatus, showFieldErrors } from "./dom.js";
import { fmtTime, plotlyTime, sign } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";

const TAB = "hybrid";
const TIMEFRAME = "1h"; // the sidebar has no timeframe: the models answer 1h candles
const REFRESH_MS = 30000;
const DAY_MS = 86400000;
const COLORS = {
  batch: "#4aa3ff",
  online: "#16c784",
  hybrid: "#f0b90b",
  grid: "#1c2330",
  text: "#8b95a7",
};
const MODELS = [
  ["batch", "Batch"],
  ["online", "Online"],
  ["hybrid", "Hybrid"],
];
const ALGORITHMS = {
  logistic_regression: "Logistic regression",
  adaptive_random_forest: "Adaptive random forest",
};
const BATCH_HEALTH = {
  ready: "Ready",
  "artifact missing": "Model file missing",
  missing: "No model",
};
const ONLINE_HEALTH = {
  learning: ["Learning", "Learns each candle as it closes."],
  paused: ["Paused", "Learning is paused; resumed, it catches up from the stored candles."],
  stopped: ["Stopped", "Data collection is off for this symbol: start it under Data collection."],
  stale: [
    "Stale",
    "No candle learned for more than 3 periods: check the workers and the candle feed.",
  ],
  waiting: ["Waiting", "Collecting; nothing learned yet."],
  missing: ["No model", "There is no online model yet: start data collection for this symbol."],
};
// [name, kind]: how each configuration field is read from the form and sent.
const CONFIG_FIELDS = [
  ["mode", "choice"],
  ["metric", "choice"],
  ["window", "number"],
  ["min_weight", "number"],
  ["fixed_batch_weight", "number"],
  ["threshold", "number"],
  ["temperature", "number"],
  ["retrain_on_drift", "flag"],
];

const CHARTS = ["hy-metric-chart", "hy-pnl-chart"];

const $ = (id) => document.getElementById(id);
const root = $("hy-root");
const panel = $(`panel-${TAB}`);
const view = {
  stale: true,
  busy: false, // a refresh is in flight: the timer does not start another
  refreshedAt: 0,
  seq: { status: 0, predict: 0, online: 0, collect: 0, perf: 0, config: 0 },
  status: null, // the last GET /ml/hybrid/status answer (this symbol)
  prediction: null,
  online: null, // the last online model figures (null: none exists)
  perf: null, // the last GET /ml/performance/history answer
  config: null, // the configuration as last read from the server
  configDirty: false, // unsaved edits: a periodic refresh leaves the form alone
};

// --- small helpers -----------------------------------------------------------------------

const num = (v) => v !== null && v !== undefined && v !== "" && Number.isFinite(Number(v));
const pct = (v, digits = 1) => (num(v) ? `${(Number(v) * 100).toFixed(digits)} %` : "—");
const four = (v) => (num(v) ? Number(v).toFixed(4) : "—");
const count = (v) => (num(v) ? Number(v).toLocaleString("en-US") : "—");
const signedPct = (v) =>
  num(v) ? `${Number(v) > 0 ? "+" : ""}${Number(v).toFixed(2)} %` : "—";
const utc = (v) => (v ? `${fmtTime(v)} UTC` : "—");
const isStaff = () => root?.dataset.staff === "true";
const visible = () => panel && !panel.hidden;
const market = () => `symbol=${encodeURIComponent(shell.symbol || "")}&timeframe=${TIMEFRAME}`;
const seriesName = () => `${shell.symbol} ${TIMEFRAME}`;
const field = (node, name) => node.querySelector(`[data-field="${name}"]`);
const metricName = (metric) => (metric === "accuracy" ? "accuracy" : "log loss");
const metricValue = (metric, v) => (metric === "accuracy" ? pct(v) : four(v));

function setText(node, name, text) {
  const target = field(node, name);
  if (target) target.textContent = text;
}

// --- status: models, weights, drift --------------------------------------------------------

function renderBatch(batch) {
  const box = $("hy-batch");
  const badge = field(box, "health");
  badge.dataset.health = batch.health;
  badge.textContent = BATCH_HEALTH[batch.health] || batch.health;
  const v = batch.version;
  setText(
    box,
    "version",
    v
      ? `v${v.version} · ${v.algorithm} (#${v.id}) · trained ${utc(v.created_at)}`
      : `No shared model is active for ${seriesName()}: train one in the ML Prediction tab.`,
  );
  box.dataset.versionId = v ? String(v.id) : "";
}

function renderOnlineHealth(online) {
  const box = $("hy-online");
  const [label, text] = ONLINE_HEALTH[online.health] || [online.health, ""];
  const badge = field(box, "health");
  badge.dataset.health = online.health;
  badge.textContent = label;
  field(box, "learned").hidden = !online.algorithm;
  setText(box, "algorithm", ALGORITHMS[online.algorithm] || online.algorithm || "—");
  setText(box, "samples", count(online.samples_seen));
  const last = online.last_learned_candle
    ? ` Last learned candle: ${utc(online.last_learned_candle)}.`
    : "";
  setText(box, "health-text", `${text}${last}`);
}

function weightsBasis(w) {
  if (w.mode === "fixed") return "Fixed weights, from the configuration.";
  if (!w.samples) return "No candle has been scored by both models yet: equal weights.";
  const name = metricName(w.metric);
  const b = metricValue(w.metric, w.batch_metric);
  const o = metricValue(w.metric, w.online_metric);
  return (
    `Adaptive, by ${name} over the last ${count(w.samples)} candles both models scored: ` +
    `batch ${b}, online ${o}${w.metric === "accuracy" ? "" : " (lower is better)"}.`
  );
}

function renderWeights(w) {
  const box = $("hy-weights");
  const batch = Number(w.batch);
  const online = Number(w.online);
  field(box, "batch-bar").style.width = `${(batch * 100).toFixed(2)}%`;
  field(box, "online-bar").style.width = `${(online * 100).toFixed(2)}%`;
  box.dataset.batch = String(batch);
  box.dataset.online = String(online);
  box.setAttribute("aria-label", `Weights: batch ${pct(batch)}, online ${pct(online)}`);
  const legend = $("hy-components");
  setText(legend, "batch-weight", pct(batch));
  setText(legend, "online-weight", pct(online));
  $("hy-weights-basis").textContent = weightsBasis(w);
}

function renderDrift(body) {
  const box = $("hy-components");
  const drift = body.drift;
  const badge = field(box, "drift-state");
  badge.dataset.state = drift.state;
  badge.textContent = drift.state === "drift" ? "Drift" : "Stable";
  const detections = `${count(drift.detections)} detection${drift.detections === 1 ? "" : "s"}`;
  setText(
    box,
    "drift-text",
    drift.last_drift_at ? `${detections}, last ${utc(drift.last_drift_at)}` : detections,
  );
  setText(
    box,
    "retrain",
    drift.retrain_on_drift
      ? "On: a detection queues a retraining of the shared batch model"
      : "Off: drift is recorded and announced only",
  );
  setText(box, "last-update", body.last_update ? utc(body.last_update) : "No candle scored yet");
}

function renderStatus(body) {
  view.status = body;
  renderBatch(body.batch);
  renderOnlineHealth(body.online);
  renderWeights(body.weights);
  renderDrift(body);
  $("hy-components").hidden = false;
  if (view.prediction) renderPredictionNotes(view.prediction);
}

async function loadStatus() {
  const seq = ++view.seq.status;
  try {
    const body = await apiGet(`/ml/hybrid/status?${market()}`);
    if (seq === view.seq.status) renderStatus(body);
    return true;
  } catch (error) {
    if (seq !== view.seq.status) return true;
    $("hy-components").hidden = true;
    setStatus($("hy-status"), `The hybrid's status could not be loaded: ${error.message}`, "error");
    return false;
  }
}

// --- blended prediction --------------------------------------------------------------------

function renderProbability(model, p) {
  const row = $("hy-prob-list").querySelector(`[data-model="${model}"]`);
  const bar = field(row, "bar");
  row.dataset.p = num(p) ? String(p) : "";
  bar.style.width = num(p) ? `${(Number(p) * 100).toFixed(2)}%` : "0";
  bar.className = `prob-fill ${num(p) ? `prob-${p >= 0.5 ? "up" : "down"}` : ""}`;
  field(row, "p").textContent = num(p) ? pct(p) : "unavailable";
}

function renderPredictionNotes(body) {
  const notes = $("hy-predict-notes");
  notes.replaceChildren();
  const { batch, online } = body.components;
  if (batch.error) notes.append(el("li", { text: `Batch model left out: ${batch.error}` }));
  if (online.error) notes.append(el("li", { text: `Online model left out: ${online.error}` }));
  const mine = batch.model_version;
  const shared = view.status?.batch?.version;
  if (mine && shared && mine.id !== shared.id) {
    notes.append(
      el("li", {
        text:
          `The batch model answering you (v${mine.version}) is not the shared default ` +
          `(v${shared.version}) whose live scores set the weights.`,
      }),
    );
  }
}

function renderPrediction(body) {
  view.prediction = body;
  const box = $("hy-prediction");
  const direction = field(box, "direction");
  direction.textContent = body.direction.toUpperCase();
  direction.className = `ml-dir ${body.direction}`;
  box.dataset.direction = body.direction;
  const t = Number(body.threshold);
  setText(box, "threshold", `(up at ≥ ${pct(t)}, down at ≤ ${pct(1 - t)})`);
  renderProbability("hybrid", body.probability.up);
  renderProbability("batch", body.components.batch.p_up);
  renderProbability("online", body.components.online.p_up);
  setText(box, "w-batch", pct(body.weights.batch));
  setText(box, "w-online", pct(body.weights.online));
  const version = body.components.batch.model_version;
  $("hy-predict-meta").textContent = [
    body.as_of_ms ? `after the candle of ${utc(body.as_of_ms)}` : "",
    version ? `batch v${version.version}` : "",
    body.components.online.algorithm ? ALGORITHMS[body.components.online.algorithm] : "",
  ]
    .filter(Boolean)
    .join(" · ");
  renderPredictionNotes(body);
  box.hidden = false;
}

async function loadPrediction() {
  const seq = ++view.seq.predict;
  try {
    const body = await apiGet(`/ml/hybrid/predict?${market()}`);
    if (seq !== view.seq.predict) return true;
    setStatus($("hy-predict-status"), "");
    setStatus($("hy-predict-detail"), "");
    renderPrediction(body);
    return true;
  } catch (error) {
    if (seq !== view.seq.predict) return true;
    view.prediction = null;
    $("hy-prediction").hidden = true;
    $("hy-predict-meta").textContent = "";
    if (error.code === "not_enough_candles") {
      const text =
        `No blended prediction for ${seriesName()} yet: neither the batch nor the online ` +
        "model can predict it (see their health under Models and weights).";
      setStatus($("hy-predict-status"), text, "warning");
      setStatus($("hy-predict-detail"), error.message);
      return true;
    }
    setStatus($("hy-predict-detail"), "");
    const text = `The prediction could not be loaded: ${error.message}`;
    setStatus($("hy-predict-status"), text, "error");
    return false;
  }
}

// --- online model ----------------------------------------------------------------------------

const STAT_TEXT = {
  samples_seen: count,
  pending_labels: count,
  rolling_accuracy: pct,
  rolling_log_loss: four,
  accuracy: pct,
  log_loss: four,
  drift_detections: count,
  last_drift_at: (v) => (v ? fmtTime(v) : "never"),
  last_learned_candle: (v) => (v ? fmtTime(v) : "none yet"),
  gap_dropped: count,
};

function renderOnline(body) {
  const online = body.online;
  view.online = online;
  const badge = $("hy-online-state");
  const grid = $("hy-online-stats");
  if (!online) {
    badge.dataset.state = "missing";
    badge.textContent = "None";
    grid.hidden = true;
    $("hy-online-meta").textContent = "";
    setStatus(
      $("hy-online-status"),
      `${seriesName()} has no online model yet: start data collection for it.`,
    );
    $("hy-pause").disabled = $("hy-resume").disabled = $("hy-reset-open").disabled = true;
    return;
  }
  setStatus($("hy-online-status"), "");
  badge.dataset.state = online.paused ? "paused" : "running";
  badge.textContent = online.paused ? "Paused" : "Running";
  Object.entries(STAT_TEXT).forEach(([key, format]) => {
    const cell = grid.querySelector(`[data-stat="${key}"] dd`);
    cell.textContent = format(online[key]);
    cell.dataset.value = online[key] === null || online[key] === undefined ? "" : online[key];
  });
  grid.hidden = false;
  const config = online.config || {};
  $("hy-online-meta").textContent = [
    ALGORITHMS[online.algorithm] || online.algorithm,
    config.window ? `rolling figures over up to ${count(config.window)} recent scored candles` : "",
    config.horizon
      ? `label: the move over ${config.horizon} candles beyond ±${pct(config.threshold, 2)}`
      : "",
    online.updated_at ? `saved ${utc(online.updated_at)}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  $("hy-pause").disabled = online.paused;
  $("hy-resume").disabled = !online.paused;
  $("hy-reset-open").disabled = false;
  if (!$("hy-reset-dialog").open && ALGORITHMS[online.algorithm]) {
    $("hy-reset-algorithm").value = online.algorithm;
  }
}

async function loadOnline() {
  const seq = ++view.seq.online;
  try {
    const body = await apiGet(`/ml/online/stats?${market()}`);
    if (seq === view.seq.online) renderOnline(body);
    return true;
  } catch (error) {
    if (seq !== view.seq.online) return true;
    $("hy-online-stats").hidden = true;
    setStatus($("hy-online-status"), `Could not be loaded: ${error.message}`, "error");
    return false;
  }
}

async function setPaused(paused) {
  const button = paused ? $("hy-pause") : $("hy-resume");
  const name = seriesName();
  const body = { symbol: shell.symbol, timeframe: TIMEFRAME };
  $("hy-pause").disabled = $("hy-resume").disabled = true;
  try {
    const answer = await apiPost(paused ? "/ml/online/pause" : "/ml/online/resume", body);
    view.seq.online += 1; // this answer is newer than any load in flight
    renderOnline(answer);
    const text = paused
      ? `Learning paused for ${name}.`
      : `Learning resumed for ${name}: it catches up from the stored candles.`;
    setStatus($("hy-control-status"), text, "success");
    toast(text, { kind: "success" });
    loadStatus();
  } catch (error) {
    const text = `${paused ? "Pause" : "Resume"} failed: ${error.message}`;
    setStatus($("hy-control-status"), text, "error");
    toast(text, { kind: "error" });
    button.disabled = false;
  }
}

function openReset() {
  const algorithm = $("hy-reset-algorithm").value;
  const seen = view.online ? view.online.samples_seen : 0;
  $("hy-reset-desc").textContent =
    `The ${seriesName()} online model starts over as ${ALGORITHMS[algorithm]}: it forgets ` +
    `what it learned from ${count(seen)} samples and its drift record, and relearns the ` +
    "stored candles on its next step. The batch model is not touched.";
  setStatus($("hy-reset-error"), "");
  $("hy-reset-confirm").disabled = false;
  $("hy-reset-dialog").showModal();
}

async function confirmReset(event) {
  event.preventDefault();
  const algorithm = $("hy-reset-algorithm").value;
  const name = seriesName();
  const confirm = $("hy-reset-confirm");
  confirm.disabled = true;
  confirm.textContent = "Resetting…";
  try {
    const answer = await apiPost("/ml/online/reset", {
      symbol: shell.symbol,
      timeframe: TIMEFRAME,
      algorithm,
    });
    $("hy-reset-dialog").close();
    view.seq.online += 1;
    renderOnline(answer);
    const text = `The ${name} online model was reset (${ALGORITHMS[algorithm]}).`;
    setStatus($("hy-control-status"), text, "success");
    toast(text, { kind: "success" });
    loadStatus();
    loadPrediction();
    loadCollection();
  } catch (error) {
    const text = `Reset failed: ${error.message}`;
    setStatus($("hy-reset-error"), text, "error");
    setStatus($("hy-control-status"), text, "error");
  } finally {
    confirm.disabled = false;
    confirm.textContent = "Reset it";
  }
}

// --- data collection -------------------------------------------------------------------------

function collectionRow(c) {
  const mine = c.symbol === shell.symbol && c.timeframe === TIMEFRAME;
  const tr = el("tr", {
    className: mine ? "hy-mine" : "",
    attrs: { "data-symbol": c.symbol, "data-timeframe": c.timeframe, "data-active": c.active },
  });
  const state = el("span", {
    className: `badge badge-status hy-collect-state`,
    text: c.active ? "Active" : "Stopped",
    attrs: {
      "data-state": c.active ? "active" : "stopped",
      title: c.active ? `Since ${utc(c.started_at)}` : `Stopped ${utc(c.stopped_at)}`,
    },
  });
  const stateCell = el("td");
  stateCell.append(state);
  const gaps = el("td", { className: `num${c.gaps ? " down" : ""}`, text: count(c.gaps) });
  gaps.dataset.cell = "gaps";
  const action = el("td");
  const button = el("button", {
    className: "btn btn-xs",
    text: c.active ? "Stop" : "Start",
    attrs: {
      type: "button",
      "aria-label": `${c.active ? "Stop" : "Start"} collecting ${c.symbol} ${c.timeframe}`,
    },
  });
  button.addEventListener("click", () =>
    collect(c.symbol, c.timeframe, !c.active, { button }),
  );
  action.append(button);
  const cell = (name, text, className = "num") => {
    const td = el("td", { className, text });
    td.dataset.cell = name;
    return td;
  };
  tr.append(
    cell("market", `${c.symbol} ${c.timeframe}`, "sym"),
    stateCell,
    cell("candles", count(c.candles)),
    gaps,
    cell("last_candle", c.last_candle ? fmtTime(c.last_candle) : "—", ""),
    cell("labelled_rows", count(c.labelled_rows)),
    cell("pending_labels", count(c.pending_labels)),
    action,
  );
  return tr;
}

function renderCollection(body) {
  const list = body.collections || [];
  $("hy-collect-rows").replaceChildren(...list.map(collectionRow));
  $("hy-collect").hidden = !list.length;
  const active = list.filter((c) => c.active).length;
  setStatus(
    $("hy-collect-status"),
    list.length
      ? `${active} of ${list.length} collected. Collecting a symbol stores its candles, ` +
          "features and labels, and the online model learns from them."
      : "No symbol is collected yet: start one to let its online model learn.",
  );
  const own = list.find((c) => c.symbol === shell.symbol && c.timeframe === TIMEFRAME);
  const startOwn = $("hy-collect-own");
  startOwn.hidden = !shell.symbol || Boolean(own && own.active);
  startOwn.textContent = `Start collecting ${seriesName()}`;
}

async function loadCollection() {
  const seq = ++view.seq.collect;
  try {
    const body = await apiGet("/ml/data_collection/stats");
    if (seq === view.seq.collect) renderCollection(body);
    return true;
  } catch (error) {
    if (seq !== view.seq.collect) return true;
    $("hy-collect").hidden = true;
    setStatus($("hy-collect-status"), `Could not be loaded: ${error.message}`, "error");
    return false;
  }
}

async function collect(symbol, timeframe, start, { button } = {}) {
  if (button) button.disabled = true;
  const name = `${symbol} ${timeframe}`;
  try {
    const body = await apiPost(`/ml/data_collection/${start ? "start" : "stop"}`, {
      symbol,
      timeframe,
    });
    view.seq.collect += 1;
    renderCollection(body);
    toast(start ? `Collecting ${name}.` : `Stopped collecting ${name}.`, { kind: "success" });
    if (symbol === shell.symbol && timeframe === TIMEFRAME) {
      loadStatus();
      loadOnline();
    }
  } catch (error) {
    const text = `Could not ${start ? "start" : "stop"} collecting ${name}: ${error.message}`;
    setStatus($("hy-collect-status"), text, "error");
    toast(text, { kind: "error" });
    if (button) button.disabled = false;
  }
}

// --- performance history ---------------------------------------------------------------------

const layoutBase = () => ({
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { color: COLORS.text, size: 11, family: "Inter, system-ui, sans-serif" },
  margin: { l: 56, r: 16, t: 28, b: 36 },
  showlegend: true,
  legend: { orientation: "h", y: 1.14 },
});
const axis = { gridcolor: COLORS.grid, zerolinecolor: COLORS.grid, linecolor: COLORS.grid };
const plotConfig = { responsive: true, displaylogo: false, displayModeBar: false };
const hline = (y) => ({
  type: "line",
  xref: "paper",
  x0: 0,
  x1: 1,
  y0: y,
  y1: y,
  line: { color: COLORS.text, width: 1, dash: "dot" },
});

const HOVER = { accuracy: "%{y:.1%}", log_loss: "%{y:.4f}", pnl_pct: "%{y:+.2f} %" };

function traces(series, key) {
  return MODELS.filter(([model]) => (series[model] || []).length).map(([model, name]) => ({
    type: "scatter",
    mode: "lines+markers",
    name,
    x: series[model].map((p) => plotlyTime(Date.parse(p.taken_at))),
    y: series[model].map((p) => p[key]),
    line: { color: COLORS[model], width: 2 },
    marker: { size: 5 },
    hovertemplate: `${name}: ${HOVER[key]}<extra></extra>`,
  }));
}

function drawMetric() {
  if (!window.Plotly || !view.perf) return;
  const metric = $("hy-perf-metric").value;
  const accuracy = metric === "accuracy";
  $("hy-metric-title").textContent = accuracy
    ? "Accuracy (higher is better; dotted: a coin)"
    : "Log loss (lower is better; dotted: a coin, ln 2)";
  window.Plotly.react(
    $("hy-metric-chart"),
    traces(view.perf.series, metric),
    {
      ...layoutBase(),
      shapes: [hline(accuracy ? 0.5 : Math.LN2)],
      xaxis: { ...axis, type: "date" },
      yaxis: { ...axis, automargin: true, tickformat: accuracy ? ".0%" : ".3f" },
    },
    plotConfig,
  );
}

function drawPnl() {
  if (!window.Plotly || !view.perf) return;
  window.Plotly.react(
    $("hy-pnl-chart"),
    traces(view.perf.series, "pnl_pct"),
    {
      ...layoutBase(),
      shapes: [hline(0)],
      xaxis: { ...axis, type: "date" },
      yaxis: { ...axis, automargin: true, ticksuffix: " %" },
    },
    plotConfig,
  );
}

function renderLatest(series) {
  const rows = MODELS.filter(([model]) => (series[model] || []).length).map(([model, name]) => {
    const last = series[model].at(-1);
    const tr = el("tr", { attrs: { "data-model": model } });
    const pnl = el("td", { className: "num", text: signedPct(last.pnl_pct) });
    pnl.dataset.cell = "pnl_pct";
    if (num(last.pnl_pct)) pnl.classList.add(sign(Number(last.pnl_pct)));
    const cell = (key, text, className = "num") => {
      const td = el("td", { className, text });
      td.dataset.cell = key;
      return td;
    };
    tr.append(
      el("th", { text: name, attrs: { scope: "row" } }),
      cell("taken_at", fmtTime(last.taken_at), ""),
      cell("samples", count(last.samples)),
      cell("accuracy", pct(last.accuracy)),
      cell("log_loss", four(last.log_loss)),
      pnl,
      cell("weight", model === "hybrid" ? "—" : pct(last.weight)),
    );
    return tr;
  });
  $("hy-perf-rows").replaceChildren(...rows);
  $("hy-perf-latest").hidden = !rows.length;
}

function renderPerformance(body) {
  view.perf = body;
  const series = body.series || {};
  const points = Object.values(series).reduce((n, s) => n + s.length, 0);
  const days = Number($("hy-perf-range").value);
  if (!points) {
    $("hy-perf-charts").hidden = true;
    $("hy-perf-latest").hidden = true;
    if (window.Plotly) CHARTS.forEach((id) => window.Plotly.purge($(id)));
    setStatus(
      $("hy-perf-status"),
      `No performance snapshot of ${body.symbol} ${body.timeframe} in the last ` +
        `${days === 1 ? "24 hours" : `${days} days`} yet. Snapshots are taken every 15 minutes ` +
        "once the online model and the batch model have scored candles.",
    );
    return;
  }
  const first = Math.min(
    ...Object.values(series)
      .filter((s) => s.length)
      .map((s) => Date.parse(s[0].taken_at)),
  );
  setStatus(
    $("hy-perf-status"),
    `${count(points)} snapshots since ${utc(first)}. PnL: following each model's signals ` +
      "(long at P(up) ≥ threshold, short at ≤ 1 − threshold), no fees.",
  );
  $("hy-perf-charts").hidden = false; // before drawing: plotly measures the box
  drawMetric();
  drawPnl();
  renderLatest(series);
}

async function loadPerformance() {
  const seq = ++view.seq.perf;
  const model = $("hy-perf-model").value;
  const since = new Date(Date.now() - Number($("hy-perf-range").value) * DAY_MS).toISOString();
  const query = `${market()}&since=${encodeURIComponent(since)}${model ? `&model=${model}` : ""}`;
  try {
    const body = await apiGet(`/ml/performance/history?${query}`);
    if (seq === view.seq.perf) renderPerformance(body);
    return true;
  } catch (error) {
    if (seq !== view.seq.perf) return true;
    $("hy-perf-charts").hidden = true;
    $("hy-perf-latest").hidden = true;
    setStatus($("hy-perf-status"), `Could not be loaded: ${error.message}`, "error");
    return false;
  }
}

// --- configuration ---------------------------------------------------------------------------

const form = () => $("hy-config-form");
const input = (name) => form().elements.namedItem(name);

function showModeFields() {
  const mode = input("mode").value;
  form()
    .querySelectorAll("[data-mode]")
    .forEach((node) => {
      const used = node.dataset.mode === mode;
      node.classList.toggle("hy-unused", !used);
      node.title = used ? "" : `Used in ${node.dataset.mode} mode only.`;
    });
}

function fillConfig(config) {
  CONFIG_FIELDS.forEach(([name, kind]) => {
    if (kind === "flag") input(name).checked = Boolean(config[name]);
    else input(name).value = config[name] ?? "";
  });
  view.configDirty = false;
  showModeFields();
}

function renderConfigAccess() {
  const staff = isStaff();
  form()
    .querySelectorAll("input, select")
    .forEach((node) => {
      node.disabled = !staff;
    });
  $("hy-config-save").hidden = !staff;
  $("hy-config-revert").hidden = !staff;
  $("hy-config-note").textContent = staff
    ? "Applies to every user at once."
    : "Only staff can change the hybrid configuration; these are the values in use.";
}

async function loadConfig({ force = false } = {}) {
  if (view.configDirty && !force) return true;
  const seq = ++view.seq.config;
  try {
    const body = await apiGet("/ml/hybrid/config");
    if (seq !== view.seq.config) return true;
    view.config = body;
    fillConfig(body);
    clearFieldErrors(form());
    setStatus($("hy-config-error"), "");
    renderConfigAccess();
    form().hidden = false;
    if ($("hy-config-status").dataset.kind !== "success") setStatus($("hy-config-status"), "");
    return true;
  } catch (error) {
    if (seq !== view.seq.config) return true;
    const text = `The configuration could not be loaded: ${error.message}`;
    setStatus($("hy-config-status"), text, "error");
    return false;
  }
}

// The fields whose form value differs from the saved one; field errors for unreadable ones.
function readConfig() {
  const changes = {};
  const errors = {};
  CONFIG_FIELDS.forEach(([name, kind]) => {
    const node = input(name);
    let value;
    if (kind === "flag") value = node.checked;
    else if (kind === "choice") value = node.value;
    else {
      const raw = node.value.trim();
      if (!raw || node.validity.badInput || !Number.isFinite(Number(raw))) {
        errors[name] = "Enter a number.";
        return;
      }
      value = Number(raw);
    }
    const saved = view.config ? view.config[name] : undefined;
    if (kind === "number" ? Number(saved) !== value : saved !== value) changes[name] = value;
  });
  return { changes, errors };
}

function describe(changes) {
  return Object.entries(changes)
    .map(([name, value]) => {
      const text = value === true ? "on" : value === false ? "off" : String(value);
      return `${name.replaceAll("_", " ")} ${text}`;
    })
    .join(", ");
}

async function saveConfig(event) {
  event.preventDefault();
  const node = form();
  clearFieldErrors(node);
  setStatus($("hy-config-error"), "");
  const { changes, errors } = readConfig();
  if (Object.keys(errors).length) {
    showFieldErrors(node, errors);
    setStatus($("hy-config-error"), "Not saved: fix the marked fields.", "error");
    return;
  }
  if (!Object.keys(changes).length) {
    setStatus($("hy-config-status"), "Nothing to save: the form shows the saved configuration.");
    return;
  }
  const save = $("hy-config-save");
  save.disabled = true;
  save.textContent = "Saving…";
  try {
    await apiPost("/ml/hybrid/config", changes);
    view.configDirty = false;
    await loadConfig({ force: true }); // what the server kept, not what was typed
    const text = `Saved: ${describe(changes)}.`;
    setStatus($("hy-config-status"), text, "success");
    toast("Hybrid configuration saved.", { kind: "success" });
    loadStatus();
    loadPrediction();
  } catch (error) {
    let text;
    if (error.status === 403) {
      text =
        "Not saved: only staff can change the hybrid configuration, and your account is " +
        "not staff. Ask an administrator.";
    } else if (error.code === "invalid_parameter" && error.details?.parameter) {
      const name = error.details.parameter;
      const unplaced = showFieldErrors(node, {
        [name]: error.message.replace(new RegExp(`^${name}: `), ""),
      });
      text = unplaced.length
        ? `Not saved: ${error.message}`
        : "Not saved: fix the marked field. Nothing was changed.";
      const bad = input(name);
      if (bad && !unplaced.length) bad.focus();
    } else {
      text = `Not saved: ${error.message}`;
    }
    setStatus($("hy-config-error"), text, "error");
    setStatus($("hy-config-status"), "");
  } finally {
    save.disabled = false;
    save.textContent = "Save configuration";
  }
}

function revertConfig() {
  if (!view.config) return;
  fillConfig(view.config);
  clearFieldErrors(form());
  setStatus($("hy-config-error"), "");
}

// --- refresh ---------------------------------------------------------------------------------

async function refresh({ quiet = false } = {}) {
  view.stale = false;
  $("hy-market").textContent = shell.symbol ? seriesName() : "";
  if (!shell.symbol) {
    setStatus($("hy-status"), "No symbol is selected in the sidebar.");
    return;
  }
  if (!quiet && !view.refreshedAt) setStatus($("hy-status"), "Loading…");
  view.busy = true;
  try {
    const results = await Promise.all([
      loadStatus(),
      loadPrediction(),
      loadOnline(),
      loadCollection(),
      loadPerformance(),
      loadConfig(),
    ]);
    view.refreshedAt = Date.now();
    $("hy-updated").textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
    const failed = results.filter((ok) => !ok).length;
    if (!failed) setStatus($("hy-status"), "");
    else if (results[0]) {
      setStatus($("hy-status"), `${failed} part(s) could not be loaded; see below.`, "warning");
    }
  } finally {
    view.busy = false;
  }
}

function refreshOrMark() {
  if (visible()) refresh();
  else view.stale = true;
}

if (root) {
  $("hy-refresh").addEventListener("click", () => refresh());
  $("hy-pause").addEventListener("click", () => setPaused(true));
  $("hy-resume").addEventListener("click", () => setPaused(false));
  $("hy-reset-open").addEventListener("click", openReset);
  $("hy-reset-cancel").addEventListener("click", () => $("hy-reset-dialog").close());
  $("hy-reset-dialog").addEventListener("click", (event) => {
    if (event.target === $("hy-reset-dialog")) $("hy-reset-dialog").close();
  });
  $("hy-reset-form").addEventListener("submit", confirmReset);
  $("hy-collect-own").addEventListener("click", (event) =>
    collect(shell.symbol, TIMEFRAME, true, { button: event.currentTarget }),
  );
  $("hy-perf-metric").addEventListener("change", drawMetric);
  $("hy-perf-model").addEventListener("change", loadPerformance);
  $("hy-perf-range").addEventListener("change", loadPerformance);
  form().addEventListener("submit", saveConfig);
  form().addEventListener("input", () => {
    view.configDirty = true;
  });
  input("mode").addEventListener("change", showModeFields);
  $("hy-config-revert").addEventListener("click", revertConfig);
  shell.on("symbolchange", () => {
    view.status = view.prediction = null;
    setStatus($("hy-control-status"), "");
    refreshOrMark();
  });
  shell.on("modelchange", refreshOrMark);
  shell.on("tabchange", ({ key }) => {
    if (key !== TAB) return;
    if (view.stale || Date.now() - view.refreshedAt > REFRESH_MS) {
      refresh();
      return;
    }
    if (!window.Plotly) return;
    CHARTS.forEach((id) => {
      if ($(id).data) window.Plotly.Plots.resize($(id));
    });
  });
  // Candles close and the online model learns all the time: look again while shown.
  setInterval(() => {
    if (visible() && !document.hidden && !view.busy) refresh({ quiet: true });
  }, REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && visible() && Date.now() - view.refreshedAt > REFRESH_MS) {
      refresh({ quiet: true });
    }
  });
  if (visible()) refresh();
}
