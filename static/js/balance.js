// Sidebar: the paper account's live balance and its reset.
//
// The balance is fetched every 5 s while the page is visible, at once after any trade
// action, and on price ticks at most every 2 s while open positions or spot holdings make
// the equity move with the price.
//
// Modules announce a change to the account with `shell.emit("account", {reason})`
// (reasons: "trade", "close", "update", "reset"); this module refreshes on it and emits
// "account" {reason: "reset"} itself after a reset. It also emits "balance" {balance} with
// every fresh GET /virtual_balance answer, for tabs that show equity-based figures.

import { apiGet, apiPost } from "./api.js";
import { fmtMoney, sign } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";

const POLL_MS = 5000;
const PRICE_REFRESH_MIN_MS = 2000;
const DEFAULT_INITIAL_BALANCE = "10000";
const DECIMAL = /^\d+(\.\d+)?$/;

const root = document.getElementById("balance");
const status = document.getElementById("balance-status");
const fields = {};
root?.querySelectorAll("[data-field]").forEach((el) => {
  fields[el.dataset.field] = el;
});

const state = {
  last: null, // the latest GET /virtual_balance answer
  inFlight: null,
  again: false, // a refresh was asked for while one was running
  lastFetchAt: 0,
  failed: false,
};

function exposed(balance) {
  if (!balance) return false;
  return (
    Number(balance.margin_used) > 0 ||
    Number(balance.unrealized_pnl) !== 0 ||
    (balance.assets || []).length > 0
  );
}

function render(balance) {
  state.last = balance;
  root.dataset.state = "ready";
  fields.equity.textContent = fmtMoney(balance.equity);
  fields.equity.dataset.value = balance.equity;
  fields.balance.textContent = fmtMoney(balance.balance);
  fields.available.textContent = fmtMoney(balance.available);
  fields.unrealized_pnl.textContent = fmtMoney(balance.unrealized_pnl, { signed: true });
  fields.unrealized_pnl.className = `num ${sign(Number(balance.unrealized_pnl))}`;
  const margin = Number(balance.margin_used);
  const holdings = (balance.assets || []).map((a) => a.asset).join(", ");
  const parts = [];
  if (margin > 0) parts.push(`Margin in use ${fmtMoney(balance.margin_used)}`);
  if (holdings) parts.push(`Holding ${holdings}`);
  const text = parts.length ? parts.join(" · ") : "No open positions";
  if (status.textContent !== text) status.textContent = text;
  status.dataset.kind = "info";
  shell.emit("balance", { balance });
}

// One request at a time; a refresh asked for meanwhile runs once right after, so the
// state after a trade is never missed.
function refresh() {
  if (!root) return Promise.resolve();
  if (state.inFlight) {
    state.again = true;
    return state.inFlight;
  }
  state.lastFetchAt = Date.now();
  state.inFlight = (async () => {
    try {
      render(await apiGet("/virtual_balance", { retries: 1, timeout: 6000 }));
      state.failed = false;
    } catch (error) {
      if (error.status === 401) {
        window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
        return;
      }
      if (!state.failed)
        toast(`The balance could not be loaded: ${error.message}`, { kind: "error" });
      state.failed = true;
      root.dataset.state = state.last ? "stale" : "error";
      status.textContent = state.last
        ? `Not updated: ${error.message}`
        : `The balance could not be loaded: ${error.message}`;
      status.dataset.kind = "error";
    } finally {
      state.inFlight = null;
    }
    if (state.again) {
      state.again = false;
      refresh();
    }
  })();
  return state.inFlight;
}

// --- reset dialog --------------------------------------------------------------------------

function initReset() {
  const dialog = document.getElementById("reset-dialog");
  const form = document.getElementById("reset-form");
  const input = document.getElementById("reset-initial");
  const error = document.getElementById("reset-error");
  const confirm = document.getElementById("reset-confirm");
  if (!dialog || !form) return;

  const showError = (text) => {
    error.textContent = text;
    error.hidden = !text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
  };

  document.getElementById("balance-reset-open").addEventListener("click", () => {
    input.value = DEFAULT_INITIAL_BALANCE;
    showError("");
    confirm.disabled = false;
    dialog.showModal();
    input.select();
  });
  document.getElementById("reset-cancel").addEventListener("click", () => dialog.close());
  // A click on the backdrop (the dialog box itself, outside its content) cancels.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim().replace(/,/g, "");
    if (!DECIMAL.test(value) || Number(value) <= 0) {
      showError("Enter a positive amount in USDT, for example 10000.");
      input.focus();
      return;
    }
    showError("");
    confirm.disabled = true;
    confirm.textContent = "Resetting…";
    try {
      await apiPost("/virtual_balance/reset", { confirm: true, initial_balance: value });
      dialog.close();
      toast(`The paper account was reset to ${fmtMoney(value)} USDT.`, { kind: "success" });
      shell.emit("account", { reason: "reset" });
    } catch (err) {
      const field = err.details && err.details.initial_balance;
      showError(Array.isArray(field) ? field.join(" ") : err.message);
      toast(`The reset failed: ${err.message}`, { kind: "error" });
    } finally {
      confirm.disabled = false;
      confirm.textContent = "Reset account";
    }
  });
}

// --- wiring ----------------------------------------------------------------------------------

if (root) {
  initReset();
  shell.on("account", () => refresh());
  shell.on("price", () => {
    if (exposed(state.last) && Date.now() - state.lastFetchAt >= PRICE_REFRESH_MIN_MS) refresh();
  });
  // Counted from the last fetch, whatever caused it, so price-driven refreshes are not
  // followed by a redundant poll.
  setInterval(() => {
    if (!document.hidden && Date.now() - state.lastFetchAt >= POLL_MS) refresh();
  }, 500);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - state.lastFetchAt > POLL_MS) refresh();
  });
  refresh();
}
