// Tab 2 "ML Prediction": the model answering the sidebar's symbol (1h) and its latest
// prediction, the model versions (activate = choose, an older one = roll back), batch
// predictions over an uploaded CSV, and upload-and-retrain with live progress.
//
// - Active model: GET /model/active_version?symbol=&timeframe=1h; "Roll back" activates
//   the version it replaced (previous_version_id).
// - Latest prediction: GET /ml/predict (404 no_active_model and 409 not_enough_candles /
//   model_artifact_invalid are explained, not shown as failures of the page).
// - Versions: GET /model/versions?symbol= with the active one marked; "Activate" sends
//   POST /model/active_version {version_id}; staff can also make a shared version the
//   default of every user ({shared: true}).
// - Batch: POST /model/predict_batch (multipart); the newest rows are shown; "Download
//   CSV" sends the same file again with ?format=csv and saves the answer as a file.
// - Upload and retrain: POST /model/upload_and_retrain (multipart), then GET
//   /upload_status/{id} every second until done or failed. The upload being followed is
//   remembered, so a reload picks its progress up again.
// Data loads when the tab is shown; changes made while it is hidden mark it stale.
// Activations and new versions are announced with shell.emit("modelchange") so the
// sidebar's model selector and the Model Analytics tab refresh too.

import { ApiError, apiGet, apiPost, csrfToken } from "./api.js";
import { clearFieldErrors, el, setStatus, showFieldErrors } from "./dom.js";
import { fmtPrice, fmtTime } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";

const TAB = "ml_prediction";
const TIMEFRAME = "1h"; // the sidebar has no timeframe: the models answer 1h candles
const STATUS_POLL_MS = 1000;
const PREDICT_REFRESH_MS = 60000;
const BATCH_ROWS_SHOWN = 100;
const FORM_TIMEOUT_MS = 120000;
const STORE_UPLOAD = "cryptobot.ml.upload";
const ENDED = new Set(["done", "failed"]);

const $ = (id) => document.getElementById(id);
const root = $("ml-root");
const panel = $(`panel-${TAB}`);
const view = {
  versions: [], // the sidebar symbol's versions, newest first
  active: new Map(), // timeframe -> GET /model/active_version answer
  stale: true,
  seq: { active: 0, predict: 0, versions: 0 }, // answers to an older request are dropped
  predictedAt: 0,
  batchData: null, // the last batch's FormData, re-sent for the CSV download
  batchName: "",
  uploadId: null,
  uploadTimer: null,
};

// --- small helpers -----------------------------------------------------------------------

const three = (v) => (Number.isFinite(Number(v)) && v !== null ? Number(v).toFixed(3) : "—");
const pct = (v) => `${(Number(v) * 100).toFixed(1)} %`;
const count = (n) => Number(n || 0).toLocaleString("en-US");
const label = (v) => `v${v.version}`;
const isStaff = () => root?.dataset.staff === "true";
const visible = () => panel && !panel.hidden;
const versionById = (id) => view.versions.find((v) => v.id === id);

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: progress is not resumed after a reload
  }
}

function save(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Private mode or full storage: nothing to resume later, nothing lost now.
  }
}

function marketQuery() {
  return `symbol=${encodeURIComponent(shell.symbol || "")}&timeframe=${TIMEFRAME}`;
}

function announce(detail) {
  shell.emit("modelchange", { symbol: shell.symbol, timeframe: TIMEFRAME, source: TAB, ...detail });
}

// --- multipart requests (api.js sends JSON only) -------------------------------------------

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: words for the status below.
  }
  const err = body && body.error;
  if (err && err.message) {
    return new ApiError(err.message, {
      status: response.status,
      code: err.code || "error",
      details: err.details || {},
    });
  }
  const words =
    response.status === 413
      ? "The file is larger than the server accepts."
      : response.status >= 500
        ? `The server had a problem (HTTP ${response.status}). Try again in a moment.`
        : `The request failed (HTTP ${response.status}).`;
  return new ApiError(words, { status: response.status, code: "http_error" });
}

// One attempt, as every write: session cookie, CSRF header, the server's error as ApiError.
async function postForm(path, data, { as = "json", timeout = FORM_TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  try {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: {
          Accept: as === "json" ? "application/json" : "text/csv",
          "X-CSRFToken": csrfToken(),
        },
        signal: controller.signal,
      });
    } catch {
      if (controller.signal.aborted) {
        throw new ApiError(`The server did not answer within ${timeout / 1000} s.`, {
          code: "timeout",
        });
      }
      throw new ApiError("Cannot reach the server. Check the connection and try again.", {
        code: "network_error",
      });
    }
    if (!response.ok) throw await errorOf(response);
    return as === "blob" ? await response.blob() : await response.json();
  } finally {
    clearTimeout(timer);
  }
}

// A refused CSV in words: what is wrong and where (line and column when the server says).
function csvText(error) {
  const { row, column } = error.details || {};
  const where =
    row && !/\bline\b/i.test(error.message)
      ? `Line ${row}${column ? `, column ${column}` : ""}: `
      : "";
  return `The file was refused. ${where}${error.message}`;
}

function showFormError(form, slot, error) {
  clearFieldErrors(form);
  if (error.code && error.code.startsWith("csv_")) {
    setStatus(slot, csvText(error), "error");
    return;
  }
  const details = error.details || {};
  const unplaced = details.parameter
    ? showFieldErrors(form, { [details.parameter]: error.message })
    : showFieldErrors(form, details);
  setStatus(slot, unplaced.length ? unplaced.join(" ") : error.message, "error");
}

// --- active model --------------------------------------------------------------------------

async function loadActive() {
  const seq = ++view.seq.active;
  const symbol = shell.symbol;
  $("ml-active-market").textContent = symbol ? `${symbol} ${TIMEFRAME}` : "";
  if (!symbol) {
    setStatus($("ml-active-status"), "No symbol is selected in the sidebar.");
    return;
  }
  try {
    const body = await apiGet(`/model/active_version?${marketQuery()}`);
    if (seq !== view.seq.active) return;
    view.active.set(TIMEFRAME, body);
    renderActive(body);
  } catch (error) {
    if (seq !== view.seq.active) return;
    $("ml-active").hidden = true;
    $("ml-rollback-row").hidden = true;
    setStatus(
      $("ml-active-status"),
      `The active model could not be loaded: ${error.message}`,
      "error",
    );
  }
}

function renderActive(body) {
  const box = $("ml-active");
  const v = body.version;
  if (!v) {
    box.hidden = true;
    $("ml-rollback-row").hidden = true;
    box.dataset.versionId = "";
    setStatus(
      $("ml-active-status"),
      `No model is active for ${body.symbol} ${body.timeframe}. Upload candles under “Upload and retrain” to train one, then activate it.`,
      "warning",
    );
    return;
  }
  setStatus($("ml-active-status"), "");
  box.dataset.versionId = String(v.id);
  const field = (name) => box.querySelector(`[data-field="${name}"]`);
  field("version").textContent = `${label(v)} (#${v.id}) · ${v.shared ? "shared" : "private"}`;
  field("algorithm").textContent = v.algorithm;
  field("scope").textContent =
    body.scope === "user" ? "your choice (user)" : "the shared default (shared)";
  const band = `${(v.threshold * 100).toFixed(2)} %`;
  const small = v.classes.includes("flat")
    ? `flat within ±${band}`
    : `moves under ${band} left out`;
  field("target").textContent =
    `${v.classes.join(" / ")} over the next ${v.horizon} candles, ${small}`;
  const range = v.data_range || {};
  field("data").textContent =
    `${count(range.rows)} candles, ${fmtTime(range.start)} → ${fmtTime(range.end)} UTC`;
  const base = v.baselines || {};
  const score = (m) => three((m || {}).balanced_accuracy);
  field("score").textContent =
    `${score(v.metrics)} (majority ${score(base.majority)}, persistence ${score(base.persistence)})`;
  field("activated").textContent = body.activated_at ? `${fmtTime(body.activated_at)} UTC` : "—";
  box.hidden = false;
  const previous = body.previous_version_id;
  const row = $("ml-rollback-row");
  row.hidden = !previous || previous === v.id;
  if (!row.hidden) {
    const known = versionById(previous);
    const name = known ? label(known) : `#${previous}`;
    $("ml-rollback").textContent = `Roll back to ${name}`;
    $("ml-rollback").dataset.versionId = String(previous);
    $("ml-rollback-hint").textContent = `the version ${label(v)} replaced`;
  }
}

// --- latest prediction ---------------------------------------------------------------------

function predictionError(error, symbol) {
  if (error.code === "no_active_model") {
    return [
      `No model is active for ${symbol} ${TIMEFRAME}, so there is no prediction yet.`,
      "warning",
    ];
  }
  if (error.code === "not_enough_candles") {
    return [
      `Not enough stored ${symbol} ${TIMEFRAME} candles to predict yet: ${error.message}`,
      "warning",
    ];
  }
  if (error.code === "model_artifact_invalid") {
    return [
      `The active model's file failed its integrity check (${error.message}). Activate another version.`,
      "error",
    ];
  }
  return [`The prediction could not be loaded: ${error.message}`, "error"];
}

async function loadPrediction() {
  const seq = ++view.seq.predict;
  const symbol = shell.symbol;
  $("ml-predict-market").textContent = symbol ? `${symbol} ${TIMEFRAME}` : "";
  if (!symbol) return;
  view.predictedAt = Date.now();
  try {
    const body = await apiGet(`/ml/predict?${marketQuery()}`, { retries: 1, timeout: 20000 });
    if (seq !== view.seq.predict) return;
    renderPrediction(body);
  } catch (error) {
    if (seq !== view.seq.predict) return;
    $("ml-prediction").hidden = true;
    const [text, kind] = predictionError(error, symbol);
    setStatus($("ml-predict-status"), text, kind);
  }
}

function renderPrediction(body) {
  setStatus($("ml-predict-status"), "");
  const box = $("ml-prediction");
  const direction = box.querySelector('[data-field="direction"]');
  direction.textContent = body.direction.toUpperCase();
  direction.className = `ml-dir ${body.direction === "up" ? "up" : body.direction === "down" ? "down" : "flat"}`;
  box.querySelector('[data-field="horizon"]').textContent = String(body.model_version.horizon);
  const list = $("ml-prob-list");
  list.replaceChildren();
  Object.entries(body.probability).forEach(([name, p]) => list.append(probRow(name, p)));
  const mv = body.model_version;
  $("ml-predict-meta").textContent =
    `As of the ${fmtTime(body.as_of)} UTC candle (the last closed one) · model ${label(mv)} (#${mv.id}, ${mv.algorithm})`;
  box.dataset.versionId = String(mv.id);
  box.hidden = false;
}

function probRow(name, p) {
  const row = el("div", { className: "prob-row", attrs: { "data-class": name } });
  row.append(el("span", { className: "prob-name", text: name }));
  const bar = el("span", {
    className: "prob-bar",
    attrs: { role: "img", "aria-label": `${name}: ${pct(p)}` },
  });
  const fill = el("span", { className: `prob-fill prob-${name}` });
  fill.style.width = `${Math.max(0, Math.min(100, Number(p) * 100)).toFixed(1)}%`;
  bar.append(fill);
  row.append(bar, el("span", { className: "prob-pct num", text: pct(p) }));
  return row;
}

// --- versions --------------------------------------------------------------------------------

async function loadVersions() {
  const seq = ++view.seq.versions;
  const symbol = shell.symbol;
  if (!symbol) {
    setStatus($("ml-versions-status"), "No symbol is selected in the sidebar.");
    return;
  }
  try {
    const body = await apiGet(`/model/versions?symbol=${encodeURIComponent(symbol)}&page_size=100`);
    const timeframes = [...new Set(body.results.map((v) => v.timeframe))];
    const actives = await Promise.all(
      timeframes.map((tf) =>
        apiGet(`/model/active_version?symbol=${encodeURIComponent(symbol)}&timeframe=${tf}`),
      ),
    );
    if (seq !== view.seq.versions) return;
    view.versions = body.results;
    actives.forEach((a) => view.active.set(a.timeframe, a));
    renderVersions(body);
    fillBatchModels();
    // The active box names the version to roll back to by its number, known only now.
    if (view.active.has(TIMEFRAME)) renderActive(view.active.get(TIMEFRAME));
  } catch (error) {
    if (seq !== view.seq.versions) return;
    setStatus(
      $("ml-versions-status"),
      `The model versions could not be loaded: ${error.message}`,
      "error",
    );
  }
}

function renderVersions(body) {
  const rows = $("ml-version-rows");
  rows.replaceChildren();
  view.versions.forEach((v) => rows.append(versionRow(v)));
  $("ml-versions").hidden = !view.versions.length;
  const more = body.count > view.versions.length ? ` (newest ${view.versions.length} shown)` : "";
  $("ml-versions-meta").textContent =
    `${shell.symbol}: ${body.count} version${body.count === 1 ? "" : "s"}${more}`;
  const status = $("ml-versions-status");
  if (!view.versions.length) {
    setStatus(
      status,
      `No model versions for ${shell.symbol} yet. Upload candles below to train one.`,
    );
  } else if (status.dataset.kind !== "success" && status.dataset.kind !== "error") {
    setStatus(status, ""); // an activation's outcome stays readable across the refresh it causes
  }
}

function versionRow(v) {
  const active = view.active.get(v.timeframe) || {};
  const isActive = active.version && active.version.id === v.id;
  const tr = el("tr", {
    attrs: { "data-version-id": v.id, "data-active": String(Boolean(isActive)) },
  });
  const range = v.data_range || {};
  const bal = (v.metrics || {}).balanced_accuracy;
  const base = ((v.baselines || {}).majority || {}).balanced_accuracy;
  const name = el("td");
  name.append(
    el("strong", { text: label(v) }),
    " ",
    el("span", { className: "muted small", text: `#${v.id}` }),
  );
  const scope = el("td");
  scope.append(
    el("span", {
      className: `badge ${v.shared ? "badge-status" : "badge-open"}`,
      text: v.shared ? "Shared" : "Private",
    }),
  );
  if (active.shared_default_id === v.id)
    scope.append(" ", el("span", { className: "muted small", text: "default" }));
  const score = el("td", { className: "num", attrs: { "data-cell": "score" } });
  score.append(
    el("span", { className: Number(bal) > Number(base) ? "up" : "flat", text: three(bal) }),
    el("span", { className: "muted", text: ` vs ${three(base)}` }),
  );
  tr.append(
    name,
    el("td", { text: v.algorithm }),
    el("td", { text: `${v.symbol} ${v.timeframe}` }),
    scope,
    el("td", {
      text: `${fmtTime(range.start)} → ${fmtTime(range.end)} · ${count(range.rows)} rows`,
    }),
    score,
    el("td", { text: fmtTime(v.created_at) }),
    versionActions(v, active, isActive),
  );
  return tr;
}

function versionActions(v, active, isActive) {
  const td = el("td", { className: "actions" });
  if (isActive) {
    const who = active.scope === "user" ? "yours" : "shared default";
    td.append(el("span", { className: "badge badge-long", text: `Active (${who})` }));
  } else {
    const button = el("button", {
      className: "btn btn-xs",
      text: "Activate",
      attrs: { type: "button", "aria-label": `Activate ${label(v)} (#${v.id})` },
    });
    button.addEventListener("click", () => activate(v, { button }));
    td.append(button);
  }
  if (isStaff() && v.shared && active.shared_default_id !== v.id) {
    const button = el("button", {
      className: "btn btn-xs",
      text: "Make default",
      attrs: {
        type: "button",
        title: "Every user without a choice of their own gets this version",
      },
    });
    button.addEventListener("click", () => activate(v, { button, shared: true }));
    td.append(" ", button);
  }
  return td;
}

async function activate(v, { button, shared = false } = {}) {
  if (button) button.disabled = true;
  const status = $("ml-versions-status");
  try {
    const body = await apiPost("/model/active_version", { version_id: v.id, shared });
    const where = `${body.symbol} ${body.timeframe}`;
    const text = shared
      ? `${label(v)} is now every user's default for ${where} (you see: ${body.scope}).`
      : `${label(v)} is now active for you on ${where} (scope: ${body.scope}).`;
    setStatus(status, text, "success");
    toast(text, { kind: "success" });
    announce({ versionId: v.id, reason: "activated" });
  } catch (error) {
    const text =
      error.code === "model_artifact_invalid"
        ? `${label(v)} cannot be activated: its model file failed the integrity check (${error.message}). Pick another version or retrain.`
        : `${label(v)} could not be activated: ${error.message}`;
    setStatus(status, text, "error");
    toast(text, { kind: "error" });
  } finally {
    if (button) button.disabled = false;
  }
}

// --- batch prediction ------------------------------------------------------------------------

function fillBatchModels() {
  const select = $("ml-batch-model");
  const keep = select.value;
  select.replaceChildren(
    el("option", {
      text: `The model active for ${shell.symbol} ${TIMEFRAME}`,
      attrs: { value: "" },
    }),
  );
  view.versions.forEach((v) => {
    const text = `${v.symbol} ${v.timeframe} ${label(v)} · ${v.algorithm}${v.shared ? "" : " (private)"}`;
    select.append(el("option", { text, attrs: { value: String(v.id) } }));
  });
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

async function onBatch(event) {
  event.preventDefault();
  const form = $("ml-batch-form");
  clearFieldErrors(form);
  setStatus($("ml-batch-error"), "");
  const file = $("ml-batch-file").files[0];
  if (!file) {
    showFieldErrors(form, { file: "Choose a CSV file of candles first." });
    return;
  }
  const data = new FormData();
  data.append("file", file, file.name);
  if ($("ml-batch-model").value) data.append("version_id", $("ml-batch-model").value);
  else {
    data.append("symbol", shell.symbol || "");
    data.append("timeframe", TIMEFRAME);
  }
  $("ml-batch-run").disabled = true;
  $("ml-batch-download").disabled = true;
  setStatus($("ml-batch-status"), `Predicting ${file.name}…`);
  try {
    const body = await postForm("/model/predict_batch", data);
    view.batchData = data;
    view.batchName = file.name.replace(/\.csv$/i, "");
    renderBatch(body);
    $("ml-batch-download").disabled = false;
  } catch (error) {
    view.batchData = null;
    $("ml-batch-table").hidden = true;
    setStatus($("ml-batch-status"), "");
    if (error.code === "no_active_model") {
      setStatus(
        $("ml-batch-error"),
        `${error.message} Or choose a version under “Model”.`,
        "error",
      );
    } else {
      showFormError(form, $("ml-batch-error"), error);
    }
  } finally {
    $("ml-batch-run").disabled = false;
  }
}

function renderBatch(body) {
  const mv = body.model_version;
  const classes = mv.classes;
  const counts = Object.fromEntries(classes.map((c) => [c, 0]));
  body.predictions.forEach((p) => {
    if (p.direction) counts[p.direction] += 1;
  });
  const shown = body.predictions.slice(-BATCH_ROWS_SHOWN).reverse();
  const warmup = body.rows - body.predicted;
  const spread = classes.map((c) => `${c} ${counts[c]}`).join(" · ");
  const status = $("ml-batch-status");
  status.dataset.rows = String(body.rows);
  status.dataset.predicted = String(body.predicted);
  const model = `${mv.symbol} ${mv.timeframe} ${label(mv)} (${mv.algorithm})`;
  const words = [
    `${count(body.rows)} rows, ${count(body.predicted)} with a prediction (${spread}) by ${model};`,
    `${warmup} without (the features' warm-up).`,
    `Showing the newest ${shown.length}.`,
  ];
  setStatus(status, words.join(" "), "success");
  $("ml-batch-head").replaceChildren(
    ...["Open time (UTC)", "Close", "Direction", ...classes.map((c) => `P(${c})`)].map((text, i) =>
      el("th", {
        text,
        className: i === 1 || i > 2 ? "num-col" : undefined,
        attrs: { scope: "col" },
      }),
    ),
  );
  const rows = $("ml-batch-rows");
  rows.replaceChildren();
  shown.forEach((p) => {
    const tr = el("tr", { attrs: { "data-direction": p.direction || "" } });
    const dir = p.direction
      ? {
          text: p.direction,
          className: p.direction === "up" ? "up" : p.direction === "down" ? "down" : "flat",
        }
      : { text: "warm-up", className: "muted" };
    tr.append(
      el("td", { text: fmtTime(Number(p.open_time)) }),
      el("td", { className: "num", text: fmtPrice(String(p.close)) }),
      el("td", dir),
      ...classes.map((c) =>
        el("td", { className: "num", text: p.probability ? pct(p.probability[c]) : "—" }),
      ),
    );
    rows.append(tr);
  });
  $("ml-batch-table").hidden = false;
}

async function onDownload() {
  if (!view.batchData) return;
  const button = $("ml-batch-download");
  button.disabled = true;
  try {
    const blob = await postForm("/model/predict_batch?format=csv", view.batchData, { as: "blob" });
    const url = URL.createObjectURL(blob);
    const name = `predictions-${view.batchName || "batch"}.csv`;
    const link = el("a", { attrs: { href: url, download: name } });
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    toast(`Saved ${name}.`, { kind: "success" });
  } catch (error) {
    setStatus($("ml-batch-error"), `The CSV could not be downloaded: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

// --- upload and retrain ----------------------------------------------------------------------

const UPLOAD_FIELDS = [
  "symbol",
  "timeframe",
  "algorithm",
  "classes",
  "horizon",
  "threshold",
  "folds",
];

async function onUpload(event) {
  event.preventDefault();
  const form = $("ml-upload-form");
  clearFieldErrors(form);
  setStatus($("ml-upload-error"), "");
  const file = $("ml-upload-file").files[0];
  if (!file) {
    showFieldErrors(form, { file: "Choose a CSV file of candles first." });
    return;
  }
  const data = new FormData();
  data.append("file", file, file.name);
  UPLOAD_FIELDS.forEach((name) => {
    const value = String(form.elements[name].value || "").trim();
    if (value) data.append(name, value);
  });
  $("ml-upload-run").disabled = true;
  showProgress({ status: "queued", progress: 0, message: `Uploading ${file.name}…` });
  try {
    const body = await postForm("/model/upload_and_retrain", data);
    follow(body.upload_id);
  } catch (error) {
    $("ml-upload-progress-box").hidden = true;
    $("ml-upload-run").disabled = false;
    showFormError(form, $("ml-upload-error"), error);
  }
}

function follow(uploadId) {
  clearTimeout(view.uploadTimer);
  view.uploadId = uploadId;
  save(STORE_UPLOAD, uploadId);
  $("ml-upload-run").disabled = true;
  pollUpload(uploadId);
}

async function pollUpload(uploadId) {
  if (view.uploadId !== uploadId) return;
  let body;
  try {
    body = await apiGet(`/upload_status/${encodeURIComponent(uploadId)}`, { retries: 1 });
  } catch (error) {
    if (view.uploadId !== uploadId) return;
    if (error.status === 404) {
      stopFollowing();
      $("ml-upload-progress-box").hidden = true;
      return;
    }
    setStatus($("ml-upload-status"), `Status unavailable (${error.message}); retrying…`, "warning");
    view.uploadTimer = setTimeout(() => pollUpload(uploadId), STATUS_POLL_MS * 3);
    return;
  }
  if (view.uploadId !== uploadId) return;
  showProgress(body);
  if (!ENDED.has(body.status)) {
    view.uploadTimer = setTimeout(() => pollUpload(uploadId), STATUS_POLL_MS);
    return;
  }
  stopFollowing();
  if (body.status === "done") await uploadDone(body);
  else uploadFailed(body);
}

function stopFollowing() {
  clearTimeout(view.uploadTimer);
  view.uploadId = null;
  save(STORE_UPLOAD, null);
  $("ml-upload-run").disabled = false;
}

const STATE_WORDS = {
  queued: "Queued",
  validating: "Validating",
  training: "Training",
  done: "Done",
  failed: "Failed",
};

function showProgress(body) {
  $("ml-upload-progress-box").hidden = false;
  const state = $("ml-upload-state");
  state.textContent = STATE_WORDS[body.status] || body.status;
  state.dataset.state = body.status;
  const value = Math.max(0, Math.min(100, Number(body.progress) || 0));
  $("ml-upload-progress").value = value;
  $("ml-upload-progress").setAttribute("aria-valuetext", `${value} %, ${body.status}`);
  $("ml-upload-pct").textContent = `${value} %`;
  const file = body.filename ? `${body.filename}: ` : "";
  const waiting = body.status === "queued" ? "waiting for a worker" : "";
  if (!ENDED.has(body.status)) {
    setStatus($("ml-upload-status"), `${file}${body.message || waiting}`);
  }
}

async function uploadDone(body) {
  const mv = body.model_version || {};
  const name = `${body.symbol} ${body.timeframe} v${mv.version}`;
  const text = [
    `Done: new version ${name} (#${mv.id}), private to you, trained on ${count(body.rows)} candles.`,
    body.message || "",
  ]
    .join(" ")
    .trim();
  setStatus($("ml-upload-status"), text, "success");
  toast(`New model version ${name} is ready. Activate it in the versions table.`, {
    kind: "success",
  });
  announce({ versionId: mv.id, reason: "created", symbol: body.symbol, timeframe: body.timeframe });
  if (!visible()) {
    view.stale = true;
    return;
  }
  await loadVersions();
  const row = document.querySelector(`#ml-version-rows tr[data-version-id="${mv.id}"]`);
  if (row) {
    row.classList.add("row-new");
    row.scrollIntoView({ block: "nearest" });
  } else if (body.symbol !== shell.symbol) {
    setStatus(
      $("ml-upload-status"),
      `${text} It is listed when ${body.symbol} is chosen in the sidebar.`,
      "success",
    );
  }
}

function uploadFailed(body) {
  const reason = body.error || body.message || "no reason was recorded";
  setStatus($("ml-upload-status"), `Retraining failed: ${reason}`, "error");
  toast(`Retraining of ${body.filename || "the upload"} failed: ${reason}`, { kind: "error" });
}

// --- wiring ----------------------------------------------------------------------------------

function refresh() {
  view.stale = false;
  loadActive();
  loadPrediction();
  loadVersions();
}

function refreshOrMark() {
  if (visible()) refresh();
  else view.stale = true;
}

if (root) {
  $("ml-batch-form").addEventListener("submit", onBatch);
  $("ml-batch-download").addEventListener("click", onDownload);
  $("ml-upload-form").addEventListener("submit", onUpload);
  $("ml-predict-refresh").addEventListener("click", loadPrediction);
  $("ml-rollback").addEventListener("click", (event) => {
    const id = Number(event.currentTarget.dataset.versionId);
    activate(versionById(id) || { id, version: `? (#${id})` }, { button: event.currentTarget });
  });
  $("ml-upload-symbol").value = shell.symbol || $("ml-upload-symbol").value;
  shell.on("symbolchange", ({ symbol }) => {
    $("ml-upload-symbol").value = symbol;
    refreshOrMark();
  });
  shell.on("modelchange", ({ source, reason }) => {
    // This tab's own new version is refreshed by uploadDone, with its row highlighted.
    if (source === TAB && reason === "created") return;
    refreshOrMark();
  });
  shell.on("tabchange", ({ key }) => {
    if (key !== TAB) return;
    if (view.stale) refresh();
    else if (Date.now() - view.predictedAt > PREDICT_REFRESH_MS) loadPrediction();
  });
  // A new candle closes every hour: look again now and then while the tab is shown.
  setInterval(() => {
    if (visible() && !document.hidden) loadPrediction();
  }, PREDICT_REFRESH_MS);
  const pending = load(STORE_UPLOAD);
  if (pending) follow(pending);
  if (visible()) refresh();
}
