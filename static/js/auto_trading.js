// Tab 9 "Auto-trading": the bot's configuration, start/stop, its status, the recent
// signals and the auto trades.
//
// - The form is filled from GET /auto_trading/config, whose `strategies` carry every
//   strategy's parameter schema (name, type, default, minimum, maximum, description): the
//   parameter fields are built from it, so a new strategy needs no change here.
// - Save sends the whole form once to POST /auto_trading/config; a refusal (400) names the
//   field, and its message is shown under that field ("strategy_params.fast" under the
//   parameter "fast"). Nothing is saved then.
// - Status (GET /auto_trading/status) and the auto trades (GET /trades?source=auto) are
//   reloaded every few seconds while the tab is visible: the bot acts on the server.

import { apiGet, apiPost, isAbort } from "./api.js";
import { fmtMoney, fmtPrice, fmtQty, fmtTime } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";
import { el, setStatus, messagesText } from "./dom.js";

const REFRESH_MS = 4000;
const WRITE_TIMEOUT_MS = 15000;
const SIGNALS = { 1: "Buy", "-1": "Sell", 0: "—" };
const ACTIONS = {
  none: "No trade",
  open: "Opened",
  close: "Closed",
  reverse: "Reversed",
  refused: "Refused",
  error: "Error",
};

const $ = (id) => document.getElementById(id);
const form = $("auto-config-form");

const view = {
  strategies: [], // schemas from GET /auto_trading/config
  params: {}, // the stored params, shown when the stored strategy is selected
  stored: "", // the stored strategy's name
  status: null,
  controller: null,
  lastFetchAt: 0,
};

// --- helpers -------------------------------------------------------------------------------

function row(cells) {
  const tr = document.createElement("tr");
  cells.forEach((cell) => {
    const td = document.createElement("td");
    if (cell instanceof Node) td.appendChild(cell);
    else td.textContent = cell;
    tr.appendChild(td);
  });
  return tr;
}

// "5.00000000" -> "5": the form shows what a person would type.
function plain(value) {
  if (value === null || value === undefined) return "";
  const str = String(value);
  return str.includes(".") ? str.replace(/\.?0+$/, "") : str;
}

function tabVisible() {
  const panel = $("panel-auto_trading");
  return Boolean(panel && !panel.hidden && !document.hidden);
}

function clearErrors() {
  form.querySelectorAll("[data-error-for]").forEach((node) => {
    node.hidden = true;
    node.textContent = "";
  });
  form.querySelectorAll('[aria-invalid="true"]').forEach((n) => n.removeAttribute("aria-invalid"));
  $("auto-config-error").hidden = true;
}

// Messages under the fields they name; returns the ones with no place on the form.
function showErrors(details) {
  const unplaced = [];
  Object.entries(details || {}).forEach(([field, messages]) => {
    const text = messagesText(messages);
    const slot = [...form.querySelectorAll("[data-error-for]")].find((node) =>
      node.dataset.errorFor.split(" ").includes(field),
    );
    if (!slot) {
      unplaced.push(`${field}: ${text}`);
      return;
    }
    slot.textContent = text;
    slot.hidden = false;
    const input = slot.closest(".field")?.querySelector("input, select");
    if (input && input.type !== "checkbox") input.setAttribute("aria-invalid", "true");
  });
  return unplaced;
}

// --- the form -------------------------------------------------------------------------------

function strategyOf(name) {
  return view.strategies.find((s) => s.name === name);
}

function renderParams() {
  const box = $("auto-params");
  box.replaceChildren();
  const strategy = strategyOf($("auto-strategy").value);
  $("auto-strategy-hint").textContent = strategy ? strategy.description : "";
  if (!strategy) return;
  const values = strategy.name === view.stored ? view.params : {};
  strategy.params.forEach((param) => {
    const field = el("div", { className: "field" });
    const id = `auto-param-${param.name}`;
    field.appendChild(el("label", { className: "field-label", text: param.name, attrs: { for: id } }));
    const input = el("input", {
      attrs: {
        id,
        type: "number",
        name: `param:${param.name}`,
        min: String(param.minimum),
        max: String(param.maximum),
        step: param.type === "int" ? "1" : "any",
        "data-param": param.name,
        "data-type": param.type,
      },
    });
    input.value = String(values[param.name] ?? param.default);
    field.appendChild(input);
    const range = `${param.minimum}–${param.maximum}`;
    field.appendChild(
      el("p", {
        className: "field-hint",
        text: param.description ? `${param.description} (${range})` : range,
      }),
    );
    field.appendChild(
      el("p", {
        className: "field-error",
        attrs: { "data-error-for": `strategy_params.${param.name}`, hidden: "" },
      }),
    );
    box.appendChild(field);
  });
}

function fillForm(config) {
  view.strategies = config.strategies || view.strategies;
  view.params = config.strategy_params || {};
  view.stored = config.strategy;
  const select = $("auto-strategy");
  select.replaceChildren(
    ...view.strategies.map((s) => el("option", { text: s.name, attrs: { value: s.name } })),
  );
  select.value = config.strategy;
  form.querySelectorAll('input[name="symbols"]').forEach((box) => {
    box.checked = config.symbols.includes(box.value);
  });
  $("auto-timeframe").value = config.timeframe;
  form.querySelector(`input[name="market"][value="${config.market}"]`).checked = true;
  $("auto-leverage").value = String(config.leverage);
  $("auto-sizing").value = config.sizing;
  $("auto-size").value = plain(config.size);
  $("auto-sl").value = plain(config.stop_loss_pct);
  $("auto-tp").value = plain(config.take_profit_pct);
  $("auto-trailing").value = plain(config.trailing_stop_pct);
  $("auto-max-open").value = String(config.max_open_trades);
  sizeUnit();
  renderParams();
  $("auto-config-saved").textContent = config.updated_at ? `Saved ${fmtTime(config.updated_at)} UTC` : "";
}

function sizeUnit() {
  $("auto-size-unit").textContent = $("auto-sizing").value === "quote" ? "USDT" : "%";
}

function formBody() {
  const optional = (id) => {
    const value = $(id).value.trim().replace(/,/g, "");
    return value === "" ? null : value;
  };
  const params = {};
  $("auto-params")
    .querySelectorAll("[data-param]")
    .forEach((input) => {
      const raw = input.value.trim();
      params[input.dataset.param] = raw === "" ? null : Number(raw);
    });
  return {
    symbols: [...form.querySelectorAll('input[name="symbols"]:checked')].map((b) => b.value),
    strategy: $("auto-strategy").value,
    strategy_params: params,
    timeframe: $("auto-timeframe").value,
    market: form.querySelector('input[name="market"]:checked').value,
    sizing: $("auto-sizing").value,
    size: optional("auto-size"),
    leverage: Number($("auto-leverage").value),
    stop_loss_pct: optional("auto-sl"),
    take_profit_pct: optional("auto-tp"),
    trailing_stop_pct: optional("auto-trailing"),
    max_open_trades: Number($("auto-max-open").value),
  };
}

async function loadConfig() {
  const status = $("auto-config-status");
  try {
    const config = await apiGet("/auto_trading/config");
    fillForm(config);
    form.hidden = false;
    setStatus(status, "");
  } catch (error) {
    setStatus(status, `Could not load the configuration: ${error.message}`, "error");
  }
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const button = $("auto-save");
  button.disabled = true;
  try {
    const config = await apiPost("/auto_trading/config", formBody(), { timeout: WRITE_TIMEOUT_MS });
    fillForm(config);
    toast("Auto-trading settings saved.", { kind: "success" });
    loadStatus();
  } catch (error) {
    const unplaced = error.status === 400 ? showErrors(error.details) : [];
    const box = $("auto-config-error");
    box.textContent = [error.message, ...unplaced].join(" ");
    box.hidden = false;
    toast(`Settings not saved: ${error.message}`, { kind: "error" });
  } finally {
    button.disabled = false;
  }
}

// --- status ----------------------------------------------------------------------------------

function signalBadge(signal) {
  const kind = signal > 0 ? "badge-long" : signal < 0 ? "badge-short" : "badge-status";
  return el("span", { className: `badge ${kind}`, text: SIGNALS[signal] ?? "—" });
}

function renderStatus(status) {
  view.status = status;
  const state = $("auto-state");
  state.dataset.state = status.enabled ? "running" : "stopped";
  state.textContent = status.enabled ? "Running" : "Stopped";
  state.className = `badge ${status.enabled ? "badge-open" : "badge-status"}`;
  $("auto-start").disabled = status.enabled;
  $("auto-stop").disabled = !status.enabled;
  const { config, pnl } = status;
  const what = config.symbols.length
    ? `${config.strategy} on ${config.symbols.join(", ")} · ${config.timeframe} candles`
    : "Choose at least one symbol, save, then start.";
  setStatus($("auto-status-status"), what);
  const summary = $("auto-summary");
  summary.querySelector('[data-field="open"]').textContent = String(status.open_trades.length);
  summary.querySelector('[data-field="closed"]').textContent = String(pnl.closed_trades);
  summary.querySelector('[data-field="realized"]').textContent = fmtMoney(pnl.realized, { signed: true });
  summary.querySelector('[data-field="unrealized"]').textContent = fmtMoney(pnl.unrealized, {
    signed: true,
  });
  summary.querySelector('[data-field="total"]').textContent = fmtMoney(pnl.total, { signed: true });

  const lastError = $("auto-last-error");
  if (status.last_error) {
    const e = status.last_error;
    setStatus(lastError, `Last problem (${e.symbol}, ${fmtTime(e.candle_time)}): ${e.message}`, "error");
  } else {
    setStatus(lastError, "");
  }

  $("auto-symbol-rows").replaceChildren(
    ...status.symbols.map((s) =>
      row([
        s.symbol,
        s.last_run ? fmtTime(s.last_run.candle_time) : "—",
        s.last_run ? signalBadge(s.last_run.signal) : "—",
        s.last_run ? ACTIONS[s.last_run.action] || s.last_run.action : "waiting for a candle",
        s.last_signal === null ? "—" : `${SIGNALS[s.last_signal]} ${fmtTime(s.last_signal_at)}`,
      ]),
    ),
  );

  const runs = status.recent_runs;
  $("auto-runs").hidden = runs.length === 0;
  setStatus($("auto-runs-status"), runs.length ? "" : "No candle has been acted on yet.");
  $("auto-run-rows").replaceChildren(
    ...runs.map((r) => {
      const tr = row([
        fmtTime(r.candle_time),
        r.symbol,
        signalBadge(r.signal),
        ACTIONS[r.action] || r.action,
        r.trade_id === null ? "—" : `#${r.trade_id}`,
        r.error || "",
      ]);
      tr.dataset.action = r.action;
      return tr;
    }),
  );
}

function renderTrades(trades) {
  $("auto-trades").hidden = trades.length === 0;
  setStatus($("auto-trades-status"), trades.length ? "" : "The bot has not traded yet.");
  $("auto-trade-rows").replaceChildren(
    ...trades.map((t) => {
      const side = el("span", {
        className: `badge badge-${t.direction}`,
        text: t.direction === "long" ? "Long" : "Short",
      });
      const pnl = t.status === "open" ? t.unrealized_pnl : t.net_pnl;
      const tr = row([
        `#${t.id}`,
        t.symbol,
        side,
        t.status,
        fmtQty(t.quantity),
        fmtPrice(t.entry_price),
        fmtPrice(t.exit_price),
        fmtMoney(pnl, { signed: true }),
        fmtTime(t.opened_at),
      ]);
      tr.dataset.status = t.status;
      tr.dataset.source = t.source;
      return tr;
    }),
  );
}

async function loadStatus() {
  if (view.controller) view.controller.abort();
  const controller = new AbortController();
  view.controller = controller;
  view.lastFetchAt = Date.now();
  try {
    const [status, trades] = await Promise.all([
      apiGet("/auto_trading/status", { signal: controller.signal }),
      apiGet("/trades?source=auto&page_size=20", { signal: controller.signal }),
    ]);
    renderStatus(status);
    renderTrades(trades.results);
  } catch (error) {
    if (isAbort(error)) return;
    setStatus($("auto-status-status"), `Could not load the bot's status: ${error.message}`, "error");
  } finally {
    if (view.controller === controller) view.controller = null;
  }
}

async function toggle(path, verb) {
  const buttons = [$("auto-start"), $("auto-stop")];
  buttons.forEach((b) => {
    b.disabled = true;
  });
  try {
    const status = await apiPost(path, {}, { timeout: WRITE_TIMEOUT_MS });
    renderStatus(status);
    toast(status.enabled ? "Auto-trading started." : "Auto-trading stopped.", { kind: "success" });
  } catch (error) {
    clearErrors();
    if (error.status === 400) showErrors(error.details);
    toast(`Could not ${verb} auto-trading: ${error.message}`, { kind: "error" });
    loadStatus();
  }
}

// --- wiring ------------------------------------------------------------------------------------

if (form) {
  $("auto-strategy").addEventListener("change", renderParams);
  $("auto-sizing").addEventListener("change", sizeUnit);
  form.addEventListener("submit", save);
  $("auto-start").addEventListener("click", () => toggle("/auto_trading/start", "start"));
  $("auto-stop").addEventListener("click", () => toggle("/auto_trading/stop", "stop"));
  loadConfig();
  loadStatus();
  shell.on("tabchange", ({ key }) => {
    if (key === "auto_trading") loadStatus();
  });
  setInterval(() => {
    if (tabVisible() && !view.controller && Date.now() - view.lastFetchAt >= REFRESH_MS) {
      loadStatus();
    }
  }, 1000);
}
