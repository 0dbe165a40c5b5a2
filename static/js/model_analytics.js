// Tab 4 "Model Analytics": a version's out-of-sample scores beside both baselines, its
// confusion matrix, folds and signal backtest, its feature importance (plotly), how the
// models did live, and the model events.
//
// - Version: the one active for the sidebar's symbol (1h) unless another is chosen in the
//   tab's own select (that choice only changes what is shown, not what predicts).
// - GET /model/metrics and GET /model/feature_importance (?version_id= or ?symbol=).
// - GET /model/analytics?symbol=&timeframe=1h: accuracy per day, calibration, the live
//   confusion matrix and the per-version comparison; empty until predictions are scored.
// - GET /model/logs?level= and GET /model/errors, 20 per page, "Older" for more.
// Data loads when the tab is shown; symbol and model changes made while it is hidden mark
// it stale ("symbolchange", "modelchange" from the shell).

import { apiGet } from "./api.js";
import { el, setStatus } from "./dom.js";
import { fmtTime } from "./format.js";
import { shell } from "./shell.js";

const TAB = "model_analytics";
const TIMEFRAME = "1h";
const EVENTS_PAGE = 20;
const COLORS = {
  bar: "#4aa3ff",
  line: "#16c784",
  base: "#f0b90b",
  grid: "#1c2330",
  text: "#8b95a7",
};
// [key, label, better]: "high" or "low" is the direction that beats a baseline.
const METRICS = [
  ["accuracy", "Accuracy", "high"],
  ["balanced_accuracy", "Balanced accuracy", "high"],
  ["precision", "Precision (up)", "high"],
  ["recall", "Recall (up)", "high"],
  ["f1", "F1 (up)", "high"],
  ["roc_auc", "ROC AUC", "high"],
  ["log_loss", "Log loss", "low"],
  ["brier", "Brier score", "low"],
  ["samples", "Test rows", null],
];
const BACKTEST = [
  ["total_return_pct", "Return", "%"],
  ["buy_and_hold_return_pct", "Buy & hold", "%"],
  ["max_drawdown_pct", "Max drawdown", "%"],
  ["sharpe", "Sharpe", ""],
  ["win_rate_pct", "Win rate", "%"],
  ["trades", "Trades", ""],
];

const $ = (id) => document.getElementById(id);
const root = $("ma-root");
const panel = $(`panel-${TAB}`);
const view = {
  stale: true,
  seq: 0, // answers to an older refresh are dropped
  versionSeq: 0, // the same for the version shown
  logsPage: 1,
  errorsPage: 1,
};

const visible = () => panel && !panel.hidden;
const num = (v) => v !== null && v !== undefined && Number.isFinite(Number(v));
const three = (v) => (num(v) ? Number(v).toFixed(3) : "—");
const share = (v) => (num(v) ? `${(Number(v) * 100).toFixed(1)} %` : "—");
const day = (ms) => fmtTime(ms).slice(0, 10);
const market = () => `symbol=${encodeURIComponent(shell.symbol || "")}&timeframe=${TIMEFRAME}`;

function versionQuery() {
  const chosen = $("ma-version").value;
  return chosen ? `version_id=${encodeURIComponent(chosen)}` : market();
}

const layoutBase = () => ({
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { color: COLORS.text, size: 11, family: "Inter, system-ui, sans-serif" },
  margin: { l: 8, r: 16, t: 8, b: 36 },
  showlegend: false,
});
const axis = { gridcolor: COLORS.grid, zerolinecolor: COLORS.grid, linecolor: COLORS.grid };
const plotConfig = { responsive: true, displaylogo: false, displayModeBar: false };

// --- the version select ----------------------------------------------------------------------

async function loadVersionChoices() {
  const select = $("ma-version");
  const keep = select.value;
  const body = await apiGet(`/model/versions?${market()}&page_size=100`);
  select.replaceChildren(el("option", { text: "Active model", attrs: { value: "" } }));
  body.results.forEach((v) => {
    const text = `v${v.version} · ${v.algorithm}${v.shared ? "" : " (private)"}`;
    select.append(el("option", { text, attrs: { value: String(v.id) } }));
  });
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
}

// --- out-of-sample metrics -------------------------------------------------------------------

function verdict(model, base, better) {
  if (!better || !num(model) || !num(base)) return "";
  const wins = better === "high" ? model > base : model < base;
  return wins ? "up" : "down";
}

function renderMetrics(body) {
  const v = body.version;
  const metrics = body.metrics || {};
  const majority = (body.baselines || {}).majority || {};
  const persistence = (body.baselines || {}).persistence || {};
  const range = v.data_range || {};
  $("ma-version-meta").textContent = [
    `${v.symbol} ${v.timeframe} v${v.version} (#${v.id})`,
    v.algorithm,
    v.shared ? "shared" : "private",
    `horizon ${v.horizon}, threshold ${(v.threshold * 100).toFixed(2)} %`,
    `trained on ${Number(range.rows || 0).toLocaleString("en-US")} candles,` +
      ` ${fmtTime(range.start)} → ${fmtTime(range.end)} UTC`,
  ].join(" · ");
  const rows = $("ma-metric-rows");
  rows.replaceChildren();
  METRICS.forEach(([key, name, better]) => {
    const tr = el("tr", { attrs: { "data-metric": key } });
    const text =
      key === "samples" ? (x) => (num(x) ? Number(x).toLocaleString("en-US") : "—") : three;
    const model = el("td", {
      className: "num",
      text: text(metrics[key]),
      attrs: { "data-col": "model" },
    });
    const beats = verdict(metrics[key], majority[key], better);
    if (beats) model.classList.add(beats);
    tr.append(
      el("th", { text: name, attrs: { scope: "row" } }),
      model,
      el("td", { className: "num", text: text(majority[key]), attrs: { "data-col": "majority" } }),
      el("td", {
        className: "num",
        text: text(persistence[key]),
        attrs: { "data-col": "persistence" },
      }),
    );
    rows.append(tr);
  });
  $("ma-metrics").hidden = false;
  renderConfusion($("ma-confusion"), v.classes, metrics.confusion_matrix);
  renderFolds(body.folds || []);
  renderBacktest(body.backtest);
}

// Counts with a heat shade (share of the largest cell) and each row's share in words.
function renderConfusion(table, classes, matrix) {
  table.replaceChildren();
  if (!classes || !classes.length || !Array.isArray(matrix) || !matrix.length) {
    table.hidden = true;
    return;
  }
  const max = Math.max(1, ...matrix.flat());
  const head = el("tr");
  head.append(el("th", { text: "Actual \\ predicted", attrs: { scope: "col" } }));
  classes.forEach((c) =>
    head.append(el("th", { text: c, className: "num-col", attrs: { scope: "col" } })),
  );
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const tr = el("tr", { attrs: { "data-actual": classes[i] } });
    tr.append(el("th", { text: classes[i], attrs: { scope: "row" } }));
    row.forEach((count, j) => {
      const td = el("td", {
        className: `num heat${i === j ? " diag" : ""}`,
        attrs: { "data-predicted": classes[j], title: `${count} of ${total} actual ${classes[i]}` },
      });
      td.style.backgroundColor = `rgba(74, 163, 255, ${(0.08 + 0.5 * (count / max)).toFixed(3)})`;
      td.append(
        String(count),
        el("span", {
          className: "muted small",
          text: ` ${total ? Math.round((100 * count) / total) : 0}%`,
        }),
      );
      tr.append(td);
    });
    tbody.append(tr);
  });
  table.append(thead, tbody);
  table.hidden = false;
}

function renderFolds(folds) {
  const rows = $("ma-fold-rows");
  rows.replaceChildren();
  folds.forEach((f, i) => {
    const tr = el("tr");
    [
      [String(i + 1)],
      [`${day(f.train_start_ms)} → ${day(f.train_end_ms)} (${f.train_rows} rows)`],
      [`${day(f.test_start_ms)} → ${day(f.test_end_ms)}`],
      [String(f.test_rows), "num"],
      [three(f.accuracy), "num"],
      [three(f.balanced_accuracy), "num"],
      [three(f.log_loss), "num"],
    ].forEach(([text, className]) => tr.append(el("td", { text, className })));
    rows.append(tr);
  });
  $("ma-folds").hidden = !folds.length;
}

function renderBacktest(backtest) {
  const grid = $("ma-backtest");
  grid.replaceChildren();
  if (!backtest || !backtest.metrics) {
    grid.hidden = true;
    $("ma-backtest-meta").textContent = "";
    return;
  }
  const t = backtest.thresholds || {};
  $("ma-backtest-meta").textContent =
    `Trading its out-of-sample signals (long at ${t.long || "—"}, short at ${t.short || "—"}), ${fmtTime(backtest.start_ms)} → ${fmtTime(backtest.end_ms)} UTC:`;
  BACKTEST.forEach(([key, name, unit]) => {
    const value = backtest.metrics[key];
    const row = el("div", { attrs: { "data-metric": key } });
    const text = num(value)
      ? `${Number(value).toFixed(unit === "%" ? 2 : key === "trades" ? 0 : 2)}${unit ? " %" : ""}`
      : "—";
    const dd = el("dd", { className: "num", text });
    if (unit === "%" && num(value))
      dd.classList.add(value > 0 ? "up" : value < 0 ? "down" : "flat");
    row.append(el("dt", { text: name }), dd);
    grid.append(row);
  });
  grid.hidden = false;
}

// --- feature importance ----------------------------------------------------------------------

function drawImportance(rows) {
  const chart = $("ma-importance-chart");
  if (!rows.length) {
    setStatus($("ma-importance-status"), "This version has no feature importance recorded.");
    if (window.Plotly) window.Plotly.purge(chart);
    return;
  }
  setStatus($("ma-importance-status"), "");
  if (!window.Plotly) return;
  const ordered = [...rows].reverse(); // plotly draws the first bar at the bottom
  chart.style.height = `${Math.max(220, 18 * rows.length + 50)}px`;
  window.Plotly.react(
    chart,
    [
      {
        type: "bar",
        orientation: "h",
        name: "Importance",
        y: ordered.map((r) => r.feature),
        x: ordered.map((r) => r.importance),
        error_x: {
          type: "data",
          array: ordered.map((r) => r.std),
          color: COLORS.text,
          thickness: 1,
        },
        marker: { color: ordered.map((r) => (r.importance >= 0 ? COLORS.bar : "#ea3943")) },
        hovertemplate: "%{y}: %{x:.5f}<extra></extra>",
      },
    ],
    {
      ...layoutBase(),
      margin: { l: 110, r: 16, t: 8, b: 36 },
      xaxis: { ...axis, title: { text: "log-loss increase" }, tickformat: ".4f" },
      yaxis: { ...axis, automargin: true },
    },
    plotConfig,
  );
}

// --- live performance ------------------------------------------------------------------------

function renderLive(body) {
  const active = body.versions.find((v) => v.active);
  $("ma-live-meta").textContent =
    `${body.symbol} ${body.timeframe} · ${body.scored} scored, ${body.pending} waiting for their label`;
  if (!body.active_version_id) {
    setStatus(
      $("ma-live-status"),
      `No model is active for ${body.symbol} ${body.timeframe}.`,
      "warning",
    );
    $("ma-live-charts").hidden = true;
  } else if (!body.scored) {
    setStatus(
      $("ma-live-status"),
      `No live prediction of the active model has been scored yet (${body.pending} waiting): each one is scored once its horizon has closed.`,
    );
    $("ma-live-charts").hidden = true;
  } else {
    setStatus($("ma-live-status"), "");
    $("ma-live-charts").hidden = false;
    drawAccuracy(body.accuracy_over_time, active);
    drawCalibration(body.calibration);
    renderConfusion(
      $("ma-live-confusion"),
      body.confusion_matrix.classes,
      body.confusion_matrix.matrix,
    );
  }
  renderCompare(body.versions);
}

function drawAccuracy(days, active) {
  if (!window.Plotly) return;
  const x = days.map((d) => d.date);
  const traces = [
    {
      type: "bar",
      name: "Predictions",
      x,
      y: days.map((d) => d.predictions),
      yaxis: "y2",
      marker: { color: "rgba(74,163,255,.25)" },
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "Live accuracy",
      x,
      y: days.map((d) => d.accuracy),
      line: { color: COLORS.line },
    },
  ];
  if (active && num(active.baseline_accuracy)) {
    traces.push({
      type: "scatter",
      mode: "lines",
      name: "Majority baseline (test)",
      x,
      y: x.map(() => active.baseline_accuracy),
      line: { color: COLORS.base, dash: "dot" },
    });
  }
  window.Plotly.react(
    $("ma-accuracy-chart"),
    traces,
    {
      ...layoutBase(),
      showlegend: true,
      margin: { l: 48, r: 56, t: 28, b: 36 },
      legend: { orientation: "h", y: 1.14 },
      xaxis: { ...axis, type: "category" },
      yaxis: { ...axis, range: [0, 1], tickformat: ".0%", automargin: true },
      yaxis2: {
        ...axis,
        overlaying: "y",
        side: "right",
        showgrid: false,
        automargin: true,
        rangemode: "tozero",
        tickformat: ",d",
        title: { text: "predictions" },
      },
    },
    plotConfig,
  );
}

function drawCalibration(bins) {
  if (!window.Plotly) return;
  window.Plotly.react(
    $("ma-calibration-chart"),
    [
      {
        type: "scatter",
        mode: "lines",
        name: "Perfect",
        x: [0, 1],
        y: [0, 1],
        line: { color: COLORS.text, dash: "dot" },
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: "Observed",
        x: bins.map((b) => b.predicted),
        y: bins.map((b) => b.observed),
        text: bins.map((b) => `${b.count} predictions`),
        marker: { size: bins.map((b) => 6 + Math.min(14, Math.sqrt(b.count))), color: COLORS.bar },
        line: { color: COLORS.bar },
      },
    ],
    {
      ...layoutBase(),
      margin: { l: 56, r: 16, t: 12, b: 44 },
      xaxis: { ...axis, range: [0, 1.02], tickformat: ".0%", title: { text: "predicted P(up)" } },
      yaxis: {
        ...axis,
        range: [0, 1.04],
        tickformat: ".0%",
        automargin: true,
        title: { text: "up happened" },
      },
    },
    plotConfig,
  );
}

function renderCompare(versions) {
  const rows = $("ma-compare-rows");
  rows.replaceChildren();
  versions.forEach((v) => {
    const tr = el("tr", { attrs: { "data-version-id": v.version_id } });
    const name = el("td");
    name.append(
      `v${v.version} `,
      el("span", { className: "muted small", text: `#${v.version_id}` }),
    );
    if (v.active) name.append(" ", el("span", { className: "badge badge-long", text: "Active" }));
    tr.append(
      name,
      el("td", { text: v.algorithm }),
      el("td", { className: "num", text: String(v.live_predictions) }),
      el("td", { className: "num", text: share(v.live_accuracy) }),
      el("td", { className: "num", text: share(v.test_accuracy) }),
      el("td", { className: "num", text: share(v.test_balanced_accuracy) }),
      el("td", { className: "num", text: share(v.baseline_accuracy) }),
    );
    rows.append(tr);
  });
  $("ma-compare").hidden = !versions.length;
}

// --- events ----------------------------------------------------------------------------------

function eventItem(e) {
  const li = el("li", { className: "event", attrs: { "data-level": e.level } });
  li.append(
    el("span", { className: `badge level-${e.level}`, text: e.level }),
    el("time", {
      className: "muted small",
      text: `${fmtTime(e.created_at)} UTC`,
      attrs: { datetime: e.created_at },
    }),
    el("span", { className: "event-msg", text: e.message }),
  );
  return li;
}

async function loadEvents(kind, { more = false } = {}) {
  const list = $(`ma-${kind}`);
  const status = $(`ma-${kind}-status`);
  const pageKey = `${kind}Page`;
  view[pageKey] = more ? view[pageKey] + 1 : 1;
  const level =
    kind === "logs" && $("ma-log-level").value ? `&level=${$("ma-log-level").value}` : "";
  const route = kind === "logs" ? "/model/logs" : "/model/errors";
  try {
    const body = await apiGet(`${route}?page_size=${EVENTS_PAGE}&page=${view[pageKey]}${level}`);
    if (!more) list.replaceChildren();
    body.results.forEach((e) => list.append(eventItem(e)));
    $(`ma-${kind}-more`).hidden = !body.next;
    const empty = kind === "errors" ? "No model errors." : "No model events yet.";
    setStatus(
      status,
      body.count ? `${body.count} in all, newest first.` : empty,
      body.count && kind === "errors" ? "warning" : "info",
    );
  } catch (error) {
    setStatus(status, `Could not be loaded: ${error.message}`, "error");
  }
}

// --- refresh ---------------------------------------------------------------------------------

async function loadVersion() {
  const seq = ++view.versionSeq;
  const query = versionQuery();
  try {
    const [metrics, importance] = await Promise.all([
      apiGet(`/model/metrics?${query}`),
      apiGet(`/model/feature_importance?${query}`),
    ]);
    if (seq !== view.versionSeq) return;
    setStatus($("ma-status"), "");
    renderMetrics(metrics);
    drawImportance(importance.feature_importance || []);
  } catch (error) {
    if (seq !== view.versionSeq) return;
    $("ma-metrics").hidden = $("ma-confusion").hidden = $("ma-folds").hidden = true;
    $("ma-backtest").hidden = true;
    $("ma-version-meta").textContent = "";
    $("ma-backtest-meta").textContent = "";
    if (window.Plotly) window.Plotly.purge($("ma-importance-chart"));
    const text =
      error.code === "no_active_model"
        ? `No model is active for ${shell.symbol} ${TIMEFRAME}: train or activate one in the ML Prediction tab.`
        : `The model's scores could not be loaded: ${error.message}`;
    setStatus($("ma-status"), text, error.code === "no_active_model" ? "warning" : "error");
  }
}

async function loadLive(seq) {
  try {
    const body = await apiGet(`/model/analytics?${market()}`);
    if (seq === view.seq) renderLive(body);
  } catch (error) {
    if (seq === view.seq)
      setStatus(
        $("ma-live-status"),
        `Live performance could not be loaded: ${error.message}`,
        "error",
      );
  }
}

async function refresh() {
  view.stale = false;
  const seq = ++view.seq;
  $("ma-market").textContent = shell.symbol ? `${shell.symbol} ${TIMEFRAME}` : "";
  if (!shell.symbol) {
    setStatus($("ma-status"), "No symbol is selected in the sidebar.");
    return;
  }
  try {
    await loadVersionChoices();
  } catch (error) {
    setStatus($("ma-status"), `The versions could not be loaded: ${error.message}`, "error");
  }
  if (seq !== view.seq) return;
  loadVersion();
  loadLive(seq);
  loadEvents("logs");
  loadEvents("errors");
}

function refreshOrMark() {
  if (visible()) refresh();
  else view.stale = true;
}

if (root) {
  $("ma-version").addEventListener("change", loadVersion);
  $("ma-refresh").addEventListener("click", refresh);
  $("ma-log-level").addEventListener("change", () => loadEvents("logs"));
  $("ma-logs-more").addEventListener("click", () => loadEvents("logs", { more: true }));
  $("ma-errors-more").addEventListener("click", () => loadEvents("errors", { more: true }));
  shell.on("symbolchange", () => {
    $("ma-version").value = "";
    refreshOrMark();
  });
  shell.on("modelchange", refreshOrMark);
  shell.on("tabchange", ({ key }) => {
    if (key !== TAB) return;
    if (view.stale) {
      refresh();
      return;
    }
    if (!window.Plotly) return;
    ["ma-importance-chart", "ma-accuracy-chart", "ma-calibration-chart"].forEach((id) => {
      if ($(id).data) window.Plotly.Plots.resize($(id));
    });
  });
  if (visible()) refresh();
}
