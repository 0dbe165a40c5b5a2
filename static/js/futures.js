// Tab 7 "Futures": the USD-M account summary, an order form with Binance's order types,
// per-symbol leverage and margin type, open positions (with liquidation price and a close
// button) and open orders (with a cancel button).
//
// - Everything shown comes from GET /futures/account and GET /futures/orders, reloaded
//   every few seconds while the tab is visible and after every action here or elsewhere
//   (shell "account" events), so fills, stops and liquidations on the server show up.
// - Writes (POST /futures/order, DELETE /futures/order/{id}, POST /futures/leverage,
//   POST /futures/margin_type) are sent once; a refusal shows the server's message under
//   the field it names, and in a notice.
// - After every change the module emits shell "account" {reason} so the sidebar balance
//   and the other tabs refresh at once.

import { apiDelete, apiGet, apiPost, isAbort } from "./api.js";
import { fmtMoney, fmtPrice, fmtQty, fmtTime, sign } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";
import { el, setStatus, messagesText, showFieldErrors, clearFieldErrors } from "./dom.js";

const REFRESH_MS = 5000;
const WRITE_TIMEOUT_MS = 15000;
const DECIMAL = /^\d+(\.\d+)?$/;
const STOP_TYPES = ["STOP_MARKET", "TAKE_PROFIT_MARKET"];
const TYPE_LABELS = {
  MARKET: "Market",
  LIMIT: "Limit",
  STOP_MARKET: "Stop market",
  TAKE_PROFIT_MARKET: "Take-profit market",
};

const $ = (id) => document.getElementById(id);
const orderForm = $("fut-order-form");
const settingsForm = $("fut-settings-form");

const view = {
  account: null, // the last GET /futures/account body
  controller: null, // the load in flight
  lastFetchAt: 0,
  submitting: false,
  settingsFilled: false, // the settings form shows the server's values for its symbol
};

// --- small helpers -----------------------------------------------------------------------

const clean = (value) =>
  String(value ?? "")
    .trim()
    .replace(/,/g, "");

function symbolBase(symbol) {
  const option = [...$("fut-order-symbol").options].find((o) => o.value === symbol);
  return option ? option.textContent.split("/")[0] : symbol.replace(/USDT$/, "");
}

function settingOf(symbol) {
  const found = (view.account?.settings || []).find((s) => s.symbol === symbol);
  return found || { symbol, leverage: 20, margin_type: "cross" };
}

function tabVisible() {
  const panel = $("panel-futures");
  return Boolean(panel && !panel.hidden && !document.hidden);
}

const TIMES = "\u00d7";

// A decimal string rounded half-up to `places` decimals, on the digits (no float).
function roundDecimal(value, places) {
  const str = String(value);
  const negative = str.startsWith("-");
  const [int, frac = ""] = (negative ? str.slice(1) : str).split(".");
  if (frac.length <= places) return str;
  let digits = BigInt(int + frac.slice(0, places));
  if (frac[places] >= "5") digits += 1n;
  const text = digits.toString().padStart(places + 1, "0");
  const rounded = places ? `${text.slice(0, -places)}.${text.slice(-places)}` : text;
  return negative ? `-${rounded}` : rounded;
}

// The liquidation price is computed to 8 places; it is shown with as many decimals as the
// mark price (the market's tick), at least two.
function fmtLiquidation(value, mark) {
  if (value === null || value === undefined) return "none";
  const markDecimals = (fmtPrice(mark).split(".")[1] || "").length;
  return fmtPrice(roundDecimal(value, Math.max(2, markDecimals)));
}

// --- loading -------------------------------------------------------------------------------

async function load() {
  if (view.controller) view.controller.abort();
  const controller = new AbortController();
  view.controller = controller;
  view.lastFetchAt = Date.now();
  try {
    const [account, orders] = await Promise.all([
      apiGet("/futures/account", { signal: controller.signal }),
      apiGet("/futures/orders", { signal: controller.signal }),
    ]);
    view.account = account;
    renderAccount(account);
    renderPositions(account.positions);
    renderOrders(orders.orders);
    if (view.settingsFilled) renderSettingsCurrent();
    else fillSettings();
  } catch (error) {
    if (isAbort(error)) return;
    const text = `The futures account could not be loaded: ${error.message}`;
    setStatus($("fut-account-status"), text, "error");
    if (!view.account) {
      setStatus($("fut-positions-status"), text, "error");
      setStatus($("fut-orders-status"), text, "error");
    }
  } finally {
    if (view.controller === controller) view.controller = null;
  }
}

function renderAccount(account) {
  const box = $("fut-summary");
  box.querySelectorAll("[data-field]").forEach((dd) => {
    const name = dd.dataset.field;
    const value = account[name];
    if (name === "margin_ratio_pct") {
      dd.textContent = value === null ? "—" : `${Number(value).toFixed(2)} %`;
      return;
    }
    const pnl = name === "unrealized_pnl";
    dd.textContent = fmtMoney(value, { signed: pnl });
    dd.className = pnl ? `num ${sign(Number(value))}` : "num";
  });
  box.hidden = false;
  setStatus($("fut-account-status"), "");
  $("fut-account-meta").textContent = `${account.currency} · ${account.positions.length} position(s)`;
}

function renderPositions(positions) {
  const body = $("fut-position-rows");
  body.replaceChildren();
  positions.forEach((p) => body.append(positionRow(p)));
  $("fut-positions").hidden = positions.length === 0;
  setStatus(
    $("fut-positions-status"),
    positions.length ? "" : "No open positions. Place an order to open one.",
  );
}

function positionRow(p) {
  const tr = el("tr", { attrs: { "data-symbol": p.symbol, "data-direction": p.direction } });
  const cell = (name, text, className = "") =>
    el("td", { className, text, attrs: { "data-cell": name } });
  const symbol = cell("symbol", "");
  symbol.append(el("span", { className: "sym", text: p.symbol }));
  const side = cell("side", "");
  side.append(
    el("span", {
      className: `badge badge-${p.direction}`,
      text: p.direction.toUpperCase(),
    }),
    document.createTextNode(` ${p.leverage}${TIMES} ${p.margin_type}`),
  );
  const pnl = Number(p.unrealized_pnl);
  const margin = p.margin_type === "isolated" ? p.isolated_wallet : p.initial_margin;
  const actions = el("td", { className: "actions", attrs: { "data-cell": "actions" } });
  const close = el("button", {
    className: "btn btn-xs",
    text: "Close",
    attrs: { type: "button", "aria-label": `Close the ${p.symbol} position at market` },
  });
  close.addEventListener("click", () => closePosition(p, close));
  actions.append(close);
  tr.append(
    symbol,
    side,
    cell("size", `${fmtQty(p.quantity)} ${symbolBase(p.symbol)}`, "num"),
    cell("entry", fmtPrice(p.entry_price), "num"),
    cell("mark", fmtPrice(p.mark_price), "num"),
    cell("liq", fmtLiquidation(p.liquidation_price, p.mark_price), "num"),
    cell("margin", fmtMoney(margin), "num"),
    cell("pnl", fmtMoney(p.unrealized_pnl, { signed: true }), `num ${sign(pnl)}`),
    actions,
  );
  return tr;
}

function renderOrders(orders) {
  const body = $("fut-order-rows");
  body.replaceChildren();
  orders.forEach((o) => body.append(orderRow(o)));
  $("fut-orders").hidden = orders.length === 0;
  $("fut-orders-meta").textContent = orders.length ? `${orders.length} open` : "";
  setStatus($("fut-orders-status"), orders.length ? "" : "No open orders.");
}

function orderRow(o) {
  const tr = el("tr", { attrs: { "data-order-id": String(o.id), "data-status": o.status } });
  const cell = (name, text, className = "") =>
    el("td", { className, text, attrs: { "data-cell": name } });
  const flags = [o.reduce_only && "reduce-only", o.close_position && "close position"]
    .filter(Boolean)
    .join(", ");
  const type = `${TYPE_LABELS[o.type] || o.type}${o.type === "LIMIT" ? ` ${o.time_in_force}` : ""}`;
  const side = cell("side", "");
  side.append(
    el("span", {
      className: `badge badge-${o.side === "BUY" ? "long" : "short"}`,
      text: o.side,
    }),
  );
  const actions = el("td", { className: "actions", attrs: { "data-cell": "actions" } });
  const cancel = el("button", {
    className: "btn btn-xs",
    text: "Cancel",
    attrs: { type: "button", "aria-label": `Cancel order #${o.id}` },
  });
  cancel.addEventListener("click", () => cancelOrder(o, cancel));
  actions.append(cancel);
  tr.append(
    cell("id", `#${o.id}`),
    cell("symbol", o.symbol),
    side,
    cell("type", flags ? `${type} (${flags})` : type),
    cell("quantity", o.close_position ? "position" : fmtQty(o.quantity), "num"),
    cell("price", fmtPrice(o.price), "num"),
    cell("stop", fmtPrice(o.stop_price), "num"),
    cell("filled", fmtQty(o.executed_qty), "num"),
    cell("created", fmtTime(o.created_at)),
    actions,
  );
  return tr;
}

// --- actions on rows ---------------------------------------------------------------------------

function orderText(o) {
  return `#${o.id} ${o.side} ${fmtQty(o.quantity)} ${o.symbol} ${TYPE_LABELS[o.type] || o.type}`;
}

async function cancelOrder(o, button) {
  button.disabled = true;
  try {
    await apiDelete(`/futures/order/${o.id}`, undefined, { timeout: WRITE_TIMEOUT_MS });
    toast(`Canceled order ${orderText(o)}.`, { kind: "success" });
    shell.emit("account", { reason: "futures-cancel" });
  } catch (error) {
    toast(`Order #${o.id} was not canceled: ${error.message}`, { kind: "error" });
    button.disabled = false;
  }
  load();
}

async function closePosition(p, button) {
  button.disabled = true;
  const body = {
    symbol: p.symbol,
    side: p.direction === "long" ? "SELL" : "BUY",
    type: "MARKET",
    quantity: p.quantity,
    reduce_only: true,
  };
  try {
    const { order } = await apiPost("/futures/order", body, { timeout: WRITE_TIMEOUT_MS });
    toast(`Closed ${fmtQty(order.executed_qty)} ${p.symbol} at ${fmtPrice(order.avg_price)}.`, {
      kind: "success",
    });
    shell.emit("account", { reason: "futures-close" });
  } catch (error) {
    toast(`The ${p.symbol} position was not closed: ${error.message}`, { kind: "error" });
    button.disabled = false;
  }
  load();
}

// --- order form --------------------------------------------------------------------------------

function orderType() {
  return $("fut-order-type").value;
}

function syncOrderForm() {
  const type = orderType();
  $("fut-order-price-field").hidden = type !== "LIMIT";
  $("fut-order-tif-field").hidden = type !== "LIMIT";
  $("fut-order-stop-field").hidden = !STOP_TYPES.includes(type);
  const symbol = $("fut-order-symbol").value;
  $("fut-order-quantity-unit").textContent = symbol ? symbolBase(symbol) : "";
  const setting = settingOf(symbol);
  $("fut-order-settings").textContent =
    `Opens at ${setting.leverage}${TIMES} ${setting.margin_type} ` +
    "(change it under Leverage & margin).";
  syncLastPrice();
}

function syncLastPrice() {
  const ticker = shell.prices.get($("fut-order-symbol").value);
  $("fut-order-last").textContent = ticker ? `Last price ${fmtPrice(ticker.price)}` : "Last price —";
}

function orderBody(side) {
  const type = orderType();
  const body = {
    symbol: $("fut-order-symbol").value,
    side,
    type,
    quantity: clean($("fut-order-quantity").value),
    reduce_only: $("fut-order-reduce").checked,
  };
  if (type === "LIMIT") {
    body.price = clean($("fut-order-price").value);
    body.time_in_force = $("fut-order-tif").value;
  }
  if (STOP_TYPES.includes(type)) body.stop_price = clean($("fut-order-stop").value);
  return body;
}

// Format problems the server would refuse anyway; the rest is the server's to judge.
function localProblems(body) {
  const problems = {};
  if (!body.symbol) problems.symbol = "No symbol to trade: no symbols are watched.";
  if (!DECIMAL.test(body.quantity) || Number(body.quantity) <= 0)
    problems.quantity = "Enter a positive quantity.";
  if ("price" in body && (!DECIMAL.test(body.price) || Number(body.price) <= 0))
    problems.price = "A limit order needs a positive price.";
  if ("stop_price" in body && (!DECIMAL.test(body.stop_price) || Number(body.stop_price) <= 0))
    problems.stop_price = "Enter the price that triggers the order.";
  return Object.keys(problems).length ? problems : null;
}

function placedText(order, fills) {
  const what = `${order.side} ${fmtQty(order.quantity)} ${order.symbol}`;
  if (order.status === "FILLED" && fills.length) {
    return `Order #${order.id} ${what} filled at ${fmtPrice(order.avg_price)}.`;
  }
  if (order.status === "NEW") return `Order #${order.id} ${what} is open.`;
  return `Order #${order.id} ${what}: ${order.status.toLowerCase().replace("_", " ")}.`;
}

async function submitOrder(side) {
  if (view.submitting) return;
  const errorBox = $("fut-order-error");
  clearFieldErrors(orderForm);
  errorBox.hidden = true;
  const body = orderBody(side);
  const problems = localProblems(body);
  if (problems) {
    showFieldErrors(orderForm, problems);
    return;
  }
  view.submitting = true;
  $("fut-buy").disabled = true;
  $("fut-sell").disabled = true;
  try {
    const { order, fills } = await apiPost("/futures/order", body, { timeout: WRITE_TIMEOUT_MS });
    toast(placedText(order, fills), { kind: order.status === "EXPIRED" ? "warning" : "success" });
    $("fut-order-quantity").value = "";
    shell.emit("account", { reason: "futures-order", order });
  } catch (error) {
    const unplaced = error.code === "invalid" ? showFieldErrors(orderForm, error.details) : [];
    const rule = error.details && error.details.rule ? ` (rule: ${error.details.rule})` : "";
    errorBox.textContent = [`${error.message}${rule}`, ...unplaced].join(" ");
    errorBox.hidden = false;
    toast(`The order was refused: ${error.message}`, { kind: "error" });
  } finally {
    view.submitting = false;
    $("fut-buy").disabled = false;
    $("fut-sell").disabled = false;
    load();
  }
}

function initOrderForm() {
  const select = $("fut-order-symbol");
  if (shell.symbol) select.value = shell.symbol;
  shell.on("symbolchange", ({ symbol }) => {
    select.value = symbol;
    $("fut-settings-symbol").value = symbol;
    syncOrderForm();
    fillSettings();
  });
  shell.on("price", ({ ticker }) => {
    if (ticker.symbol === select.value) syncLastPrice();
  });
  orderForm.addEventListener("change", syncOrderForm);
  orderForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const side = event.submitter && event.submitter.value;
    if (side === "BUY" || side === "SELL") submitOrder(side);
  });
  syncOrderForm();
}

// --- leverage & margin type ----------------------------------------------------------------

function chosenMargin() {
  return settingsForm.querySelector('input[name="margin_type"]:checked').value;
}

function renderSettingsCurrent() {
  const setting = settingOf($("fut-settings-symbol").value);
  $("fut-settings-current").textContent =
    `Now ${setting.leverage}${TIMES} ${setting.margin_type}`;
  syncOrderForm();
}

// Fills the form from the account; only when the symbol changes or after a save, so a
// background refresh never overwrites what is being typed.
function fillSettings() {
  if (!view.account) return;
  const setting = settingOf($("fut-settings-symbol").value);
  $("fut-settings-leverage").value = setting.leverage;
  settingsForm.querySelector(`input[value="${setting.margin_type}"]`).checked = true;
  view.settingsFilled = true;
  renderSettingsCurrent();
}

async function saveSettings() {
  const errorBox = $("fut-settings-error");
  clearFieldErrors(settingsForm);
  errorBox.hidden = true;
  const symbol = $("fut-settings-symbol").value;
  const current = settingOf(symbol);
  const leverage = Number($("fut-settings-leverage").value);
  const marginType = chosenMargin();
  if (!(Number.isInteger(leverage) && leverage >= 1 && leverage <= 125)) {
    showFieldErrors(settingsForm, { leverage: "Leverage is a whole number from 1 to 125." });
    return;
  }
  const done = [];
  $("fut-settings-save").disabled = true;
  try {
    if (leverage !== current.leverage) {
      await apiPost("/futures/leverage", { symbol, leverage }, { timeout: WRITE_TIMEOUT_MS });
      done.push(`leverage ${leverage}${TIMES}`);
    }
    if (marginType !== current.margin_type) {
      await apiPost(
        "/futures/margin_type",
        { symbol, margin_type: marginType },
        { timeout: WRITE_TIMEOUT_MS },
      );
      done.push(`${marginType} margin`);
    }
    toast(done.length ? `${symbol}: ${done.join(" and ")} set.` : `${symbol}: nothing to change.`, {
      kind: "success",
    });
  } catch (error) {
    const unplaced = error.code === "invalid" ? showFieldErrors(settingsForm, error.details) : [];
    if (error.details && error.details.rule === "leverage") {
      showFieldErrors(settingsForm, { leverage: error.message });
    } else if (error.details && error.details.rule) {
      showFieldErrors(settingsForm, { margin_type: error.message });
    }
    const saved = done.length ? `Saved ${done.join(" and ")}; then: ` : "";
    errorBox.textContent = [`${saved}${error.message}`, ...unplaced].join(" ");
    errorBox.hidden = false;
    toast(`${symbol} settings: ${error.message}`, { kind: "error" });
  } finally {
    $("fut-settings-save").disabled = false;
    view.settingsFilled = false; // refill from the server's answer
    if (done.length) shell.emit("account", { reason: "futures-settings" });
    load();
  }
}

function initSettings() {
  const select = $("fut-settings-symbol");
  if (shell.symbol) select.value = shell.symbol;
  select.addEventListener("change", () => {
    clearFieldErrors(settingsForm);
    $("fut-settings-error").hidden = true;
    fillSettings();
  });
  settingsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    saveSettings();
  });
}

// --- wiring ------------------------------------------------------------------------------------

if (orderForm) {
  initOrderForm();
  initSettings();
  load();
  shell.on("account", ({ reason } = {}) => {
    if (!String(reason || "").startsWith("futures")) load();
  });
  shell.on("tabchange", ({ key }) => {
    if (key === "futures") load();
  });
  // Fills, stops and liquidations happen on the server: keep the tables honest.
  setInterval(() => {
    if (tabVisible() && !view.controller && Date.now() - view.lastFetchAt >= REFRESH_MS) load();
  }, 1000);
}
