// Tab 3 "Open Trade": the order form with its live safety check, the open trades (close,
// partial close, edit stops) and the risk-settings editor.
//
// - As the form changes, POST /safety/check runs (debounced) for each side the market
//   allows; the rules are shown one by one and a side's button is enabled only while its
//   check passes for exactly the values on screen.
// - POST /trade opens the trade; a refusal shows the server's message, the fields it names
//   and the failed rule. Writes are never retried (api.js sends them once).
// - After every trade action the module emits shell "account" {reason} so the sidebar
//   balance and the Dashboard tab's trade list refresh at once.

import { apiGet, apiPost, isAbort } from "./api.js";
import { fmtDecimal, fmtMoney, fmtPct, fmtPrice, fmtQty, sign } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";
import { el, setStatus, messagesText, showFieldErrors, clearFieldErrors } from "./dom.js";

const CHECK_DEBOUNCE_MS = 300;
const TRADES_REFRESH_MS = 5000;
const ORDER_TIMEOUT_MS = 15000;
const DECIMAL = /^\d+(\.\d+)?$/;
const RULES = {
  allowed_symbol: "Symbol allowed",
  max_leverage: "Leverage",
  max_position_pct: "Position size",
  max_open_trades: "Open trades",
  max_daily_loss_pct: "Daily loss",
  max_drawdown_pct: "Drawdown",
  stop_loss_required: "Stop-loss required",
  max_risk_per_trade_pct: "Risk per trade",
  min_free_balance: "Free balance left",
  cooldown: "Cooldown after losses",
  balance: "Margin / balance",
};
const SIZE_UNITS = {
  quantity: ["base", "Base-asset quantity, e.g. 0.01."],
  quote_amount: ["USDT", "Notional in USDT, before leverage."],
  equity_pct: ["%", "Percent of equity as notional, before leverage."],
};

const $ = (id) => document.getElementById(id);
const form = $("order-form");

// --- small helpers -----------------------------------------------------------------------

const clean = (value) =>
  String(value ?? "")
    .trim()
    .replace(/,/g, "");

// "622.15300000" -> "622.153" for editing; null -> "".
function trimZeros(value) {
  if (value === null || value === undefined) return "";
  const str = String(value);
  return str.includes(".") ? str.replace(/0+$/, "").replace(/\.$/, "") : str;
}

function radio(name, root = form) {
  const input = root.querySelector(`input[name="${name}"]:checked`);
  return input ? input.value : null;
}

function symbolBase(symbol) {
  const option = [...($("order-symbol")?.options || [])].find((o) => o.value === symbol);
  return option ? option.textContent.split("/")[0] : symbol.replace(/USDT$/, "");
}

function lastPrice(symbol) {
  const ticker = shell.prices.get(symbol);
  const price = ticker ? Number(ticker.price) : NaN;
  return Number.isFinite(price) && price > 0 ? price : null;
}

function tradeLabel(trade) {
  return `#${trade.id} ${trade.symbol} ${String(trade.direction).toUpperCase()}`;
}

// --- order form ----------------------------------------------------------------------------

const order = {
  balance: null, // the latest balance from the sidebar (equity for % sizing hints)
  check: null, // {values, long, short}: results for the values in `values`
  checkTimer: null,
  checkController: null,
  submitting: false,
};

function market() {
  return radio("market");
}

// The request body for one side, exactly as the form shows it. Empty optional fields are
// left out; the size goes in the one field its mode names.
function orderBody(direction) {
  const body = { symbol: $("order-symbol").value, direction, market: market() };
  body[radio("size_mode")] = clean($("order-size").value);
  if (body.market === "futures") {
    body.leverage = Number($("order-leverage").value);
    body.margin_type = radio("margin_type");
  }
  body.order_type = radio("order_type");
  if (body.order_type === "limit") body.price = clean($("order-price").value);
  const sl = clean($("order-sl").value);
  if (sl) body[radio("sl_mode") === "pct" ? "stop_loss_pct" : "stop_loss"] = sl;
  const tp = clean($("order-tp").value);
  if (tp) body[radio("tp_mode") === "pct" ? "take_profit_pct" : "take_profit"] = tp;
  const trailing = clean($("order-trailing").value);
  if (trailing) body.trailing_stop_pct = trailing;
  return body;
}

// Format problems the server would refuse anyway; limits are left to the safety check.
function localProblems() {
  const problems = {};
  if (!$("order-symbol").value) problems.symbol = "No symbol to trade: no symbols are watched.";
  const size = clean($("order-size").value);
  const sizeField = radio("size_mode");
  if (!size) problems[sizeField] = "Enter a size.";
  else if (!DECIMAL.test(size) || Number(size) <= 0)
    problems[sizeField] = "Enter a positive number.";
  const lev = Number($("order-leverage").value);
  if (market() === "futures" && !(Number.isInteger(lev) && lev >= 1 && lev <= 125)) {
    problems.leverage = "Leverage is a whole number from 1 to 125.";
  }
  if (radio("order_type") === "limit") {
    const price = clean($("order-price").value);
    if (!DECIMAL.test(price) || Number(price) <= 0) problems.price = "A limit order needs a price.";
  }
  const optional = [
    ["order-sl", radio("sl_mode") === "pct" ? "stop_loss_pct" : "stop_loss"],
    ["order-tp", radio("tp_mode") === "pct" ? "take_profit_pct" : "take_profit"],
    ["order-trailing", "trailing_stop_pct"],
  ];
  optional.forEach(([id, field]) => {
    const v = clean($(id).value);
    if (v && (!DECIMAL.test(v) || Number(v) <= 0)) problems[field] = "Enter a positive number.";
  });
  return Object.keys(problems).length ? problems : null;
}

function sides() {
  return market() === "spot" ? ["long"] : ["long", "short"];
}

function updateButtons() {
  const values = JSON.stringify(orderBody("long"));
  const fresh = order.check && order.check.values === values;
  for (const direction of ["long", "short"]) {
    const button = $(`submit-${direction}`);
    const result = fresh ? order.check[direction] : null;
    button.disabled = order.submitting || !result || !result.allowed;
    if (direction === "short" && market() === "spot") {
      button.title = "Spot trading cannot open a short. Switch the market to Futures.";
    } else if (result && result.allowed) {
      button.title = "";
    } else {
      button.title = "Enabled once the safety check passes for this side.";
    }
  }
}

function setBadge(state, text) {
  const badge = $("check-badge");
  badge.dataset.state = state;
  badge.textContent = text;
}

function scheduleCheck() {
  clearTimeout(order.checkTimer);
  if (order.checkController) order.checkController.abort();
  order.checkController = null;
  updateButtons();
  setBadge("checking", "checking…");
  order.checkTimer = setTimeout(runCheck, CHECK_DEBOUNCE_MS);
  updateHints();
}

async function runCheck() {
  const box = form;
  clearFieldErrors(box);
  const problems = localProblems();
  if (problems) {
    order.check = null;
    updateButtons();
    const sizeOnly =
      Object.keys(problems).length === 1 && problems[radio("size_mode")] === "Enter a size.";
    if (!sizeOnly) showFieldErrors(box, problems);
    setBadge("idle", sizeOnly ? "not run" : "incomplete");
    setStatus(
      $("check-status"),
      sizeOnly
        ? "Enter a size to check the order against your risk rules."
        : "Fix the highlighted fields to run the safety check.",
      sizeOnly ? "info" : "warning",
    );
    $("check-table").hidden = true;
    return;
  }
  const controller = new AbortController();
  order.checkController = controller;
  const values = JSON.stringify(orderBody("long"));
  const directions = sides();
  const answers = await Promise.allSettled(
    directions.map((d) => apiPost("/safety/check", orderBody(d), { signal: controller.signal })),
  );
  if (controller.signal.aborted) return; // the form changed meanwhile: a newer check runs
  order.checkController = null;
  const check = { values };
  directions.forEach((d, i) => {
    const a = answers[i];
    check[d] = a.status === "fulfilled" ? a.value : { allowed: false, error: a.reason };
  });
  if (!check.short) check.short = { allowed: false, notApplicable: true };
  order.check = check;
  renderCheck(check);
  updateButtons();
}

function mark(result, rule) {
  if (!result || result.notApplicable) return { text: "–", kind: "na", title: "Not applicable" };
  if (result.error) return { text: "?", kind: "na", title: result.error.message };
  const c = (result.checks || []).find((x) => x.rule === rule);
  if (!c) return { text: "–", kind: "na", title: "Not checked for this side" };
  return c.passed
    ? { text: "✓", kind: "pass", title: "Passed" }
    : { text: "✗", kind: "fail", title: c.message || "Failed" };
}

// A rule's value or limit; some rules have none ("").
const figure = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));

function renderCheck(check) {
  const rows = $("check-rows");
  rows.replaceChildren();
  const errors = ["long", "short"]
    .map((d) => check[d].error && { d, error: check[d].error })
    .filter(Boolean);
  setStatus($("check-status"), "");
  if (errors.length && errors[0].error.code === "invalid") {
    const unplaced = showFieldErrors(form, errors[0].error.details);
    if (unplaced.length) setStatus($("check-status"), unplaced.join(" "), "error");
  }
  const results = ["long", "short"].map((d) => check[d]).filter((r) => r.checks);
  if (!results.length) {
    const message = errors.length ? errors[0].error.message : "The check gave no result.";
    setStatus($("check-status"), `The safety check could not run: ${message}`, "error");
    setBadge("fail", "not checked");
    $("check-table").hidden = true;
    return;
  }
  const ruleOrder = [];
  results.forEach((r) =>
    r.checks.forEach((c) => {
      if (!ruleOrder.includes(c.rule)) ruleOrder.push(c.rule);
    }),
  );
  let failing = 0;
  for (const rule of ruleOrder) {
    const long = (check.long.checks || []).find((c) => c.rule === rule);
    const short = (check.short.checks || []).find((c) => c.rule === rule);
    // Show the failing side's figures when only one side fails (e.g. a stop on one side).
    const shown = (long && !long.passed) || !short ? long : short && !short.passed ? short : long;
    const passed = [long, short].filter(Boolean).every((c) => c.passed);
    if (!passed) failing += 1;
    const tr = el("tr", { attrs: { "data-rule": rule, "data-passed": String(passed) } });
    const name = el("th", { attrs: { scope: "row" } });
    name.append(el("span", { className: "rule-name", text: RULES[rule] || rule }));
    name.append(
      el("span", {
        className: `rule-msg ${passed ? "muted" : "down"}`,
        text: shown?.message || "",
      }),
    );
    tr.append(name);
    tr.append(el("td", { className: "num", text: figure(shown?.value) }));
    tr.append(el("td", { className: "num", text: figure(shown?.limit) }));
    for (const d of ["long", "short"]) {
      const m = mark(check[d], rule);
      const td = el("td", {
        className: `mark mark-${m.kind}`,
        text: m.text,
        attrs: { title: m.title },
      });
      td.dataset.side = d;
      tr.append(td);
    }
    rows.append(tr);
  }
  $("check-table").hidden = false;
  const blocked = ["long", "short"].filter((d) => !check[d].notApplicable && !check[d].allowed);
  if (!failing && !blocked.length) {
    setBadge("pass", "all passed");
  } else if (!failing) {
    const side = blocked.join(" and ");
    const why = errors.length ? errors[0].error.message : "refused";
    setBadge("fail", `${side} blocked`);
    setStatus($("check-status"), `${side[0].toUpperCase()}${side.slice(1)}: ${why}`, "warning");
  } else {
    setBadge("fail", failing === 1 ? "1 rule fails" : `${failing} rules fail`);
  }
}

// Estimates beside the inputs from the live price; the server's figures are what count.
function updateHints() {
  const symbol = $("order-symbol").value;
  const last = lastPrice(symbol);
  const base = symbolBase(symbol);
  $("order-last").textContent = last
    ? `${symbol} last ${fmtDecimal(shell.prices.get(symbol).price)}`
    : `${symbol} last —`;
  // A limit order is sized and filled at its own price.
  const limit = radio("order_type") === "limit" ? Number(clean($("order-price").value)) : 0;
  const price = limit > 0 ? limit : last;
  const mode = radio("size_mode");
  const [unit, help] = SIZE_UNITS[mode];
  $("order-size-unit").textContent = unit === "base" ? base : unit;
  const size = Number(clean($("order-size").value));
  const lev = market() === "futures" ? Number($("order-leverage").value) || 1 : 1;
  let notional = null;
  if (size > 0 && price) {
    if (mode === "quantity") notional = size * price;
    else if (mode === "quote_amount") notional = size;
    else if (order.balance) notional = (Number(order.balance.equity) * size) / 100;
  }
  let hint = help;
  if (notional && price) {
    const qty = notional / price;
    const digits = qty >= 1 ? 4 : 6;
    const parts = [];
    if (mode !== "quantity") parts.push(`≈ ${qty.toFixed(digits)} ${base}`);
    if (mode !== "quote_amount") parts.push(`notional ≈ ${fmtMoney(notional)} USDT`);
    parts.push(
      market() === "futures"
        ? `margin ≈ ${fmtMoney(notional / lev)} USDT at ${lev}×`
        : `cost ≈ ${fmtMoney(notional)} USDT`,
    );
    hint = parts.join(" · ");
  }
  $("order-size-hint").textContent = hint;
  stopHint("order-sl", "sl_mode", "order-sl-hint", -1, price);
  stopHint("order-tp", "tp_mode", "order-tp-hint", 1, price);
}

// `side` is -1 for a stop-loss (below a long's entry) and +1 for a take-profit.
function stopHint(inputId, modeName, hintId, side, price) {
  const hint = $(hintId);
  const value = Number(clean($(inputId).value));
  if (radio(modeName) === "price") {
    hint.textContent =
      side < 0
        ? "Long: below the entry · Short: above it"
        : "Long: above the entry · Short: below it";
    return;
  }
  if (!(value > 0) || !price) {
    hint.textContent = "";
    return;
  }
  const long = price * (1 + (side * value) / 100);
  const short = price * (1 - (side * value) / 100);
  const digits = price >= 100 ? 2 : 4;
  hint.textContent = `≈ ${long.toFixed(digits)} long · ${short.toFixed(digits)} short`;
}

function syncMarket() {
  const futures = market() === "futures";
  form.querySelectorAll("[data-futures-only]").forEach((node) => {
    node.hidden = !futures;
  });
}

function syncOrderType() {
  const limit = radio("order_type") === "limit";
  $("order-price-field").hidden = !limit;
  const input = $("order-price");
  if (limit && !clean(input.value)) {
    const ticker = shell.prices.get($("order-symbol").value);
    if (ticker) input.value = ticker.price;
  }
}

function initLeverage() {
  const range = $("order-leverage-range");
  const number = $("order-leverage");
  // The form's own input listener runs the check; these keep the two controls in step.
  range.addEventListener("input", () => {
    number.value = range.value;
  });
  number.addEventListener("input", () => {
    const v = Number(number.value);
    if (Number.isInteger(v) && v >= 1 && v <= 125) range.value = String(v);
  });
}

// The answer is the trade; a limit order that has not filled yet may come back as
// {"status": "pending", "order": {...}} instead.
function describeOpened(trade) {
  if (trade.status === "pending") {
    const o = trade.order || trade;
    const side = String(o.side || o.direction || "").toUpperCase();
    const at = o.price ? ` at ${fmtPrice(o.price)}` : "";
    return `Limit order placed: ${side} ${fmtQty(o.quantity)} ${o.symbol}${at}; the trade opens when it fills (Futures tab → open orders to cancel it).`;
  }
  const side = String(trade.direction).toUpperCase();
  const lev = trade.market === "futures" ? ` ${trade.leverage}×` : "";
  return `Opened ${side}${lev} ${fmtQty(trade.quantity)} ${trade.symbol} at ${fmtPrice(trade.entry_price)}.`;
}

function showOrderError(error) {
  const box = $("order-error");
  box.replaceChildren();
  box.append(el("p", { className: "order-error-title", text: error.message }));
  const details = error.details || {};
  const items = [];
  if (error.code === "risk_check_failed" && Array.isArray(details.checks)) {
    details.checks
      .filter((c) => !c.passed)
      .forEach((c) => {
        const figures = c.value !== undefined ? ` (value ${c.value}, limit ${c.limit})` : "";
        items.push(`✗ ${RULES[c.rule] || c.rule}: ${c.message}${figures}`);
      });
  } else if (details.rule) {
    items.push(`Rule: ${RULES[details.rule] || details.rule} (${details.rule})`);
  }
  if (error.code === "invalid") items.push(...showFieldErrors(form, details));
  if (error.status === 0) {
    items.push(
      "The order may or may not have been placed: check the open trades below before retrying.",
    );
  }
  if (items.length) {
    const list = el("ul", { className: "order-error-list" });
    items.forEach((text) => list.append(el("li", { text })));
    box.append(list);
  }
  box.hidden = false;
}

async function submitOrder(direction) {
  if (order.submitting) return;
  order.submitting = true;
  updateButtons();
  const button = $(`submit-${direction}`);
  const label = button.textContent;
  button.textContent = "Placing…";
  $("order-error").hidden = true;
  clearFieldErrors(form);
  try {
    const trade = await apiPost("/trade", orderBody(direction), { timeout: ORDER_TIMEOUT_MS });
    toast(describeOpened(trade), { kind: "success" });
    shell.emit("account", { reason: "trade", trade });
  } catch (error) {
    showOrderError(error);
    toast(`The order was refused: ${error.message}`, { kind: "error" });
    if (error.status === 0) loadTrades();
  } finally {
    button.textContent = label;
    order.submitting = false;
    scheduleCheck();
  }
}

function initOrderForm() {
  const select = $("order-symbol");
  if (shell.symbol) select.value = shell.symbol;
  shell.on("symbolchange", ({ symbol }) => {
    select.value = symbol;
    $("order-price").value = "";
    syncOrderType();
    scheduleCheck();
  });
  shell.on("balance", ({ balance }) => {
    order.balance = balance;
    if (radio("size_mode") === "equity_pct") updateHints();
  });
  form.addEventListener("input", (event) => {
    $("order-error").hidden = true; // it spoke of values that have just changed
    if (event.target.name === "market") syncMarket();
    if (event.target.name === "order_type") syncOrderType();
    if (event.target.id === "order-symbol") {
      $("order-price").value = "";
      syncOrderType();
    }
    scheduleCheck();
  });
  // Enter in a field must not place an order: only the two buttons do.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT") event.preventDefault();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const direction = event.submitter && event.submitter.value;
    if (direction === "long" || direction === "short") submitOrder(direction);
  });
  initLeverage();
  syncMarket();
  syncOrderType();
  updateHints();
  updateButtons();
  // A trade elsewhere (another tab, the auto-trader) changes open trades and exposure.
  shell.on("account", () => scheduleCheck());
  shell.on("price", ({ ticker }) => {
    if (ticker.symbol === select.value) updateHints();
  });
}

// --- open trades ---------------------------------------------------------------------------

const openTrades = {
  rows: new Map(), // id -> {trade, tr, editTr, cells}
  controller: null,
  lastFetchAt: 0,
  failed: false,
};

function tabVisible() {
  const panel = $("panel-trade");
  return Boolean(panel && !panel.hidden && !document.hidden);
}

async function loadTrades() {
  if (openTrades.controller) openTrades.controller.abort();
  const controller = new AbortController();
  openTrades.controller = controller;
  openTrades.lastFetchAt = Date.now();
  let open;
  try {
    // Resting orders (a limit entry that has not filled yet) are listed, with cancel, in
    // the Futures tab's open orders; this list is the open trades.
    open = await apiGet("/trades?status=open&page_size=500", {
      signal: controller.signal,
      retries: 1,
    });
  } catch (error) {
    if (controller.signal.aborted || isAbort(error)) return;
    openTrades.controller = null;
    const msg = `Open trades could not be loaded: ${error.message}`;
    setStatus($("open-trades-status"), msg, "error");
    if (!openTrades.failed) toast(msg, { kind: "error" });
    openTrades.failed = true;
    return;
  }
  if (controller.signal.aborted) return;
  openTrades.controller = null;
  openTrades.failed = false;
  renderTrades(open.results || []);
}

function renderTrades(trades) {
  const body = $("open-trades-rows");
  const seen = new Set();
  trades.forEach((trade) => {
    seen.add(trade.id);
    let entry = openTrades.rows.get(trade.id);
    if (!entry) {
      entry = buildRow(trade);
      openTrades.rows.set(trade.id, entry);
    }
    entry.trade = trade;
    fillRow(entry);
    body.append(entry.tr, entry.editTr); // keeps the server's order, moves nothing needlessly
  });
  [...openTrades.rows.keys()].forEach((id) => {
    if (!seen.has(id)) {
      const entry = openTrades.rows.get(id);
      entry.tr.remove();
      entry.editTr.remove();
      openTrades.rows.delete(id);
    }
  });
  const n = trades.length;
  $("open-trades").hidden = n === 0;
  setStatus(
    $("open-trades-status"),
    n ? "" : "No open trades. Orders you place above appear here.",
  );
  $("open-trades-meta").textContent = n ? `${n} trade${n === 1 ? "" : "s"}` : "";
}

function buildRow(trade) {
  const tr = el("tr", { attrs: { "data-trade-id": String(trade.id) } });
  const cells = {};
  for (const key of ["symbol", "side", "qty", "entry", "price", "pnl", "stops", "liq", "actions"]) {
    const td = el("td", {
      className: ["qty", "entry", "price", "pnl", "liq"].includes(key) ? "num" : "",
    });
    td.dataset.cell = key;
    cells[key] = td;
    tr.append(td);
  }
  const closeBtn = el("button", {
    className: "btn btn-xs",
    text: "Close",
    attrs: { type: "button", "data-action": "close" },
  });
  const qty = el("input", {
    className: "input-xs",
    attrs: {
      type: "text",
      inputmode: "decimal",
      placeholder: "qty",
      "aria-label": `Quantity to close of trade #${trade.id}`,
      "data-role": "partial-qty",
    },
  });
  const partialBtn = el("button", {
    className: "btn btn-xs",
    text: "Close qty",
    attrs: { type: "button", "data-action": "partial" },
  });
  const editBtn = el("button", {
    className: "btn btn-xs",
    text: "Edit stops",
    attrs: { type: "button", "data-action": "edit", "aria-expanded": "false" },
  });
  const partial = el("span", { className: "partial" });
  partial.append(qty, partialBtn);
  cells.actions.className = "actions";
  cells.actions.append(closeBtn, partial, editBtn);

  const editTr = el("tr", { className: "edit-row" });
  editTr.hidden = true;
  const editTd = el("td", { attrs: { colspan: "9" } });
  editTr.append(editTd);
  const entry = { trade, tr, editTr, cells, closeBtn, partialBtn, editBtn, qty, partial };
  editTd.append(buildStopsForm(entry));

  closeBtn.addEventListener("click", () => closeTrade(entry));
  partialBtn.addEventListener("click", () => closeTrade(entry, clean(qty.value)));
  qty.addEventListener("keydown", (event) => {
    if (event.key === "Enter") closeTrade(entry, clean(qty.value));
  });
  editBtn.addEventListener("click", () => toggleEdit(entry));
  return entry;
}

function stopsText(trade) {
  const parts = [];
  if (trade.stop_loss) parts.push(`SL ${fmtPrice(trade.stop_loss)}`);
  if (trade.take_profit) parts.push(`TP ${fmtPrice(trade.take_profit)}`);
  if (trade.trailing_stop_pct) parts.push(`Trail ${fmtQty(trade.trailing_stop_pct)}%`);
  return parts.length ? parts.join(" · ") : "none";
}

function fillRow(entry) {
  const { trade, cells } = entry;
  const pending = trade.status === "pending";
  cells.symbol.replaceChildren(
    el("span", { className: "sym", text: trade.symbol }),
    el("span", { className: "muted small", text: ` ${trade.market}` }),
  );
  const side = el("span", {
    className: `badge badge-${trade.direction}`,
    text: String(trade.direction).toUpperCase(),
  });
  const extra = trade.market === "futures" ? ` ${trade.leverage}× ${trade.margin_type}` : "";
  cells.side.replaceChildren(side, el("span", { className: "muted small", text: extra }));
  if (pending) cells.side.append(el("span", { className: "badge badge-pending", text: "pending" }));
  cells.qty.textContent = fmtQty(trade.quantity);
  cells.entry.textContent = fmtPrice(trade.entry_price);
  cells.stops.textContent = stopsText(trade);
  cells.stops.classList.toggle("muted", cells.stops.textContent === "none");
  cells.liq.textContent = fmtPrice(trade.liquidation_price);
  entry.closeBtn.textContent = pending ? "Cancel" : "Close";
  entry.partial.hidden = pending;
  entry.editBtn.hidden = pending;
  updateLive(entry);
}

// Price and unrealized PnL follow the live feed; without a price the server's figure stays.
function updateLive(entry) {
  const { trade, cells } = entry;
  const price = lastPrice(trade.symbol);
  const entryPrice = Number(trade.entry_price);
  const qty = Number(trade.quantity);
  cells.price.textContent = price ? fmtDecimal(shell.prices.get(trade.symbol).price) : "—";
  let pnl = trade.unrealized_pnl === null ? null : Number(trade.unrealized_pnl);
  if (trade.status === "open" && price && entryPrice > 0 && qty > 0) {
    pnl = (price - entryPrice) * qty * (trade.direction === "short" ? -1 : 1);
  }
  if (pnl === null || !Number.isFinite(pnl) || trade.status !== "open") {
    cells.pnl.textContent = "—";
    cells.pnl.className = "num";
    return;
  }
  const margin =
    (entryPrice * qty) / (trade.market === "futures" ? Number(trade.leverage) || 1 : 1);
  const roe = margin > 0 ? (pnl / margin) * 100 : null;
  cells.pnl.textContent = `${fmtMoney(pnl, { signed: true })}${roe === null ? "" : ` (${fmtPct(roe)})`}`;
  cells.pnl.className = `num ${sign(pnl)}`;
  cells.pnl.title = `Estimated from the live price; the server's figure at the last refresh: ${trade.unrealized_pnl ?? "—"} USDT. The percentage is on the margin.`;
}

async function closeTrade(entry, quantity) {
  const { trade } = entry;
  if (quantity !== undefined) {
    if (!DECIMAL.test(quantity) || Number(quantity) <= 0) {
      toast(`Enter the quantity of ${trade.symbol} to close, e.g. ${fmtQty(trade.quantity)}.`, {
        kind: "warning",
      });
      entry.qty.focus();
      return;
    }
  }
  const buttons = [entry.closeBtn, entry.partialBtn, entry.editBtn];
  buttons.forEach((b) => {
    b.disabled = true;
  });
  try {
    const body = quantity === undefined ? {} : { quantity };
    const result = await apiPost(`/trades/${trade.id}/close`, body, { timeout: ORDER_TIMEOUT_MS });
    if (trade.status === "pending") {
      toast(`Canceled the pending order of ${tradeLabel(trade)}.`, { kind: "success" });
    } else if (quantity !== undefined && result.status === "open") {
      toast(
        `Closed ${fmtQty(quantity)} of ${tradeLabel(trade)}; ${fmtQty(result.quantity)} remain open.`,
        { kind: "success" },
      );
    } else {
      const pnl = Number(result.net_pnl ?? result.realized_pnl);
      const at = result.exit_price ? ` at ${fmtPrice(result.exit_price)}` : "";
      // The close worked, whatever its PnL: a success notice, not a warning.
      toast(
        `Closed ${tradeLabel(trade)}${at}: PnL ${fmtMoney(pnl, { signed: true })} USDT after fees.`,
        {
          kind: "success",
        },
      );
    }
    entry.qty.value = "";
    shell.emit("account", { reason: "close", trade: result });
  } catch (error) {
    toast(`${tradeLabel(trade)} could not be closed: ${error.message}`, { kind: "error" });
    if (error.status === 409 || error.status === 404) loadTrades();
  } finally {
    buttons.forEach((b) => {
      b.disabled = false;
    });
  }
}

// --- edit stops ----------------------------------------------------------------------------

const STOP_FIELDS = [
  ["stop_loss", "Stop-loss", "price"],
  ["take_profit", "Take-profit", "price"],
  ["trailing_stop_pct", "Trailing stop", "%"],
];

function buildStopsForm(entry) {
  const id = entry.trade.id;
  const f = el("form", {
    className: "stops-form",
    attrs: { novalidate: "", "aria-label": `Edit stops of trade #${id}` },
  });
  entry.stopInputs = {};
  STOP_FIELDS.forEach(([name, label, unit]) => {
    const field = el("div", { className: "field" });
    const inputId = `stops-${id}-${name}`;
    field.append(el("label", { className: "field-label", text: label, attrs: { for: inputId } }));
    const wrap = el("div", { className: "input-unit" });
    const input = el("input", {
      attrs: { type: "text", inputmode: "decimal", id: inputId, name, placeholder: "none" },
    });
    wrap.append(input, el("span", { className: "unit", text: unit === "%" ? "%" : "USDT" }));
    field.append(
      wrap,
      el("p", { className: "field-error", attrs: { "data-error-for": name, hidden: "" } }),
    );
    f.append(field);
    entry.stopInputs[name] = input;
  });
  const actions = el("div", { className: "form-actions" });
  const save = el("button", {
    className: "btn btn-primary btn-xs",
    text: "Save stops",
    attrs: { type: "submit" },
  });
  const cancel = el("button", {
    className: "btn btn-xs",
    text: "Cancel",
    attrs: { type: "button" },
  });
  actions.append(
    save,
    cancel,
    el("span", { className: "muted small", text: "Empty removes a stop." }),
  );
  const error = el("p", { className: "form-error", attrs: { role: "alert", hidden: "" } });
  f.append(actions, error);
  cancel.addEventListener("click", () => toggleEdit(entry, false));
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    saveStops(entry, f, save, error);
  });
  return f;
}

function toggleEdit(entry, open = entry.editTr.hidden) {
  entry.editTr.hidden = !open;
  entry.editBtn.setAttribute("aria-expanded", String(open));
  if (!open) return;
  // Filled when opened, never by a background refresh, so typing is not overwritten.
  STOP_FIELDS.forEach(([name]) => {
    entry.stopInputs[name].value = trimZeros(entry.trade[name]);
  });
  const f = entry.editTr.querySelector("form");
  clearFieldErrors(f);
  f.querySelector(".form-error").hidden = true;
  entry.stopInputs.stop_loss.focus();
}

async function saveStops(entry, f, save, error) {
  clearFieldErrors(f);
  error.hidden = true;
  const changes = {};
  const problems = {};
  STOP_FIELDS.forEach(([name]) => {
    const value = clean(entry.stopInputs[name].value);
    const current = entry.trade[name];
    if (value === trimZeros(current) || (current && value && Number(value) === Number(current))) {
      return;
    }
    if (value && (!DECIMAL.test(value) || Number(value) <= 0))
      problems[name] = "Enter a positive number, or leave it empty to remove it.";
    changes[name] = value || null;
  });
  if (Object.keys(problems).length) {
    showFieldErrors(f, problems);
    return;
  }
  if (!Object.keys(changes).length) {
    toggleEdit(entry, false);
    return;
  }
  save.disabled = true;
  try {
    const trade = await apiPost(`/trades/${entry.trade.id}/update`, changes);
    entry.trade = { ...entry.trade, ...trade };
    fillRow(entry);
    toggleEdit(entry, false);
    toast(`Stops of ${tradeLabel(entry.trade)} updated: ${stopsText(entry.trade)}.`, {
      kind: "success",
    });
    shell.emit("account", { reason: "update", trade });
  } catch (err) {
    // Field messages go under their fields; the box below says what has no field.
    const unplaced = err.code === "invalid" ? showFieldErrors(f, err.details) : [];
    const placed = err.code === "invalid" && !unplaced.length;
    error.textContent = placed ? "" : [err.message, ...unplaced].join(" ");
    error.hidden = placed;
  } finally {
    save.disabled = false;
  }
}

// --- risk settings -------------------------------------------------------------------------

const RISK_FIELDS = [
  "max_position_pct",
  "max_leverage",
  "max_open_trades",
  "max_risk_per_trade_pct",
  "max_daily_loss_pct",
  "max_drawdown_pct",
  "min_free_balance",
  "cooldown_after_losses",
  "cooldown_minutes",
  "allowed_symbols",
  "stop_loss_required",
];
const risk = { saved: null };

function riskInput(name) {
  return $(`risk-${name}`);
}

function riskFormValue(name) {
  const input = riskInput(name);
  if (name === "stop_loss_required") return input.checked;
  if (name === "allowed_symbols") {
    return input.value
      .split(/[\s,;]+/)
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean);
  }
  // Empty means "no limit" where the server allows it (null); elsewhere it says why not.
  return clean(input.value) || null;
}

function riskSavedValue(name) {
  const v = risk.saved[name];
  if (name === "stop_loss_required") return Boolean(v);
  if (name === "allowed_symbols") return v || [];
  return v === null || v === undefined ? null : String(v);
}

function riskChanges() {
  if (!risk.saved) return {};
  const changes = {};
  RISK_FIELDS.forEach((name) => {
    const now = riskFormValue(name);
    if (JSON.stringify(now) !== JSON.stringify(riskSavedValue(name))) changes[name] = now;
  });
  return changes;
}

function fillRisk(settings) {
  risk.saved = settings;
  RISK_FIELDS.forEach((name) => {
    const input = riskInput(name);
    if (name === "stop_loss_required") input.checked = Boolean(settings[name]);
    else if (name === "allowed_symbols") input.value = (settings[name] || []).join(", ");
    else input.value = settings[name] ?? "";
  });
  syncRiskDirty();
}

function syncRiskDirty() {
  const dirty = Object.keys(riskChanges()).length > 0;
  $("risk-save").disabled = !dirty;
  $("risk-revert").disabled = !dirty;
  $("risk-dirty").hidden = !dirty;
}

async function loadRisk() {
  try {
    fillRisk(await apiGet("/risk_settings"));
    setStatus($("risk-status"), "");
    $("risk-form").hidden = false;
  } catch (error) {
    setStatus($("risk-status"), `Risk settings could not be loaded: ${error.message}`, "error");
  }
}

function initRisk() {
  const f = $("risk-form");
  f.addEventListener("input", syncRiskDirty);
  f.addEventListener("change", syncRiskDirty);
  $("risk-revert").addEventListener("click", () => {
    clearFieldErrors(f);
    $("risk-error").hidden = true;
    fillRisk(risk.saved);
  });
  f.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = riskChanges();
    if (!Object.keys(changes).length) return;
    clearFieldErrors(f);
    $("risk-error").hidden = true;
    $("risk-save").disabled = true;
    try {
      fillRisk(await apiPost("/risk_settings", changes));
      toast("Risk settings saved. New orders are checked against them.", { kind: "success" });
      scheduleCheck();
    } catch (error) {
      let unplaced = [];
      if (error.code === "invalid") unplaced = showFieldErrors(f, error.details);
      // An unknown name in the allowed list comes back as unknown_symbol (404).
      if (error.code === "unknown_symbol") showFieldErrors(f, { allowed_symbols: [error.message] });
      const box = $("risk-error");
      box.textContent = [error.message, ...unplaced].join(" ");
      box.hidden = false;
      toast(`Risk settings were not saved: ${error.message}`, { kind: "error" });
      syncRiskDirty();
    }
  });
  loadRisk();
}

// --- wiring ------------------------------------------------------------------------------------

if (form) {
  initOrderForm();
  initRisk();
  loadTrades();
  shell.on("account", () => loadTrades());
  shell.on("price", ({ ticker }) => {
    openTrades.rows.forEach((entry) => {
      if (entry.trade.symbol === ticker.symbol) updateLive(entry);
    });
  });
  shell.on("tabchange", ({ key }) => {
    if (key === "trade") loadTrades();
  });
  // Stops, take-profits and liquidations close trades on the server: keep the table honest.
  setInterval(() => {
    if (
      tabVisible() &&
      !openTrades.controller &&
      Date.now() - openTrades.lastFetchAt >= TRADES_REFRESH_MS
    ) {
      loadTrades();
    }
  }, 1000);
}
