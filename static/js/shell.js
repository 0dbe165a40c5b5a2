// The dashboard shell: tabs, the symbol selector, the real-time toggle, the connection
// indicator and the one price feed every tab listens to.
//
// Tabs import `shell` and listen for:
//   "symbolchange" {symbol}      the sidebar's symbol changed (also persisted)
//   "price"        {ticker}      a newer price for one symbol (WebSocket or polling)
//   "connection"   {state, text} the indicator changed
//   "tabchange"    {key}         a tab became visible (charts resize on it)
// The feed starts on DOMContentLoaded, after every tab module has attached its listeners.

import { apiGet } from "./api.js";
import { toast } from "./toast.js";
import { LiveSocket } from "./ws.js";

const POLL_MS = 5000;
const STORE = { symbol: "cryptobot.symbol", realtime: "cryptobot.realtime", tab: "cryptobot.tab" };

function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback; // storage disabled or a value from an older version
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or full storage: the choice lasts for this page only.
  }
}

class Shell extends EventTarget {
  constructor() {
    super();
    const select = document.getElementById("symbol-select");
    this.symbols = select ? [...select.options].map((o) => o.value) : [];
    const stored = load(STORE.symbol, null);
    this.symbol = this.symbols.includes(stored) ? stored : (this.symbols[0] ?? null);
    this.realtime = load(STORE.realtime, true) !== false;
    this.prices = new Map(); // symbol -> latest ticker seen
    this.connection = { state: "connecting", text: "Connecting…" };
  }

  on(type, handler) {
    this.addEventListener(type, (event) => handler(event.detail));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setSymbol(symbol) {
    if (!this.symbols.includes(symbol) || symbol === this.symbol) return;
    this.symbol = symbol;
    save(STORE.symbol, symbol);
    const select = document.getElementById("symbol-select");
    if (select && select.value !== symbol) select.value = symbol;
    this.emit("symbolchange", { symbol });
  }

  // Keep only prices newer than what we have: polling can answer after a fresher WS frame.
  acceptPrice(ticker) {
    if (!ticker || !ticker.symbol) return;
    const known = this.prices.get(ticker.symbol);
    if (known && Number(known.timestamp) > Number(ticker.timestamp)) return;
    this.prices.set(ticker.symbol, ticker);
    this.emit("price", { ticker });
  }
}

export const shell = new Shell();

// --- connection indicator ------------------------------------------------------------

const indicator = document.getElementById("connection");

function showConnection(state, text, title = "") {
  shell.connection = { state, text };
  if (indicator) {
    indicator.dataset.state = state;
    indicator.querySelector(".conn-text").textContent = text;
    indicator.title = title || text;
  }
  shell.emit("connection", { state, text });
}

// --- price feed: WebSocket when real-time is on, polling otherwise or while it is down -----

class PriceFeed {
  constructor() {
    this.pollTimer = null;
    this.polling = false;
    this.lastPollOk = null; // null until the first poll answers
    this.socketState = "stopped";
    this.socketInfo = {};
    this.reconnectTicker = null;
    this.everLive = false; // toasts speak of a lost connection only after one existed
    this.lost = false;
    this.socket = new LiveSocket("/ws/price", {
      symbols: shell.symbols,
      onMessage: (m) => this.onMessage(m),
      onState: (state, info) => this.onSocketState(state, info),
    });
  }

  start() {
    if (shell.realtime) {
      this.pollOnce(); // fill the cards now rather than after the socket's first frame
      this.socket.start();
    } else {
      this.startPolling();
    }
  }

  setRealtime(on) {
    shell.realtime = on;
    save(STORE.realtime, on);
    if (on) {
      this.stopPolling();
      this.socket.start();
    } else {
      this.socket.stop();
      this.startPolling();
    }
  }

  onMessage(message) {
    // One frame per poll: a single price, or a batch when several subscribed symbols moved.
    if (message.type === "price") shell.acceptPrice(message);
    else if (message.type === "prices") message.prices.forEach((p) => shell.acceptPrice(p));
    else if (message.type === "error") toast(`Price stream: ${message.message}`, { kind: "warning" });
  }

  onSocketState(state, info) {
    if (!shell.realtime) return;
    this.socketState = state;
    this.socketInfo = info.retryInMs ? { ...info, due: Date.now() + info.retryInMs } : info;
    if (state === "live") {
      this.stopPolling();
      if (this.lost) toast("Real-time prices are back.", { kind: "success" });
      this.lost = false;
      this.everLive = true;
    } else if (state === "reconnecting" || state === "offline") {
      if (this.everLive && !this.lost) {
        toast("Real-time connection lost. Reconnecting; prices refresh every 5 s meanwhile.", {
          kind: "warning",
        });
        this.lost = true;
      }
      if (!this.polling) this.startPolling(); // fall back while the socket is down
    }
    this.render();
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.pollGeneration = (this.pollGeneration || 0) + 1;
    this.render();
    this.pollLoop(this.pollGeneration);
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
  }

  // A stop and a restart while a request is in flight must not leave two loops running:
  // each loop belongs to one start and ends when a newer start exists.
  async pollLoop(generation) {
    if (!this.polling || generation !== this.pollGeneration) return;
    await this.pollOnce();
    if (this.polling && generation === this.pollGeneration) {
      this.pollTimer = setTimeout(() => this.pollLoop(generation), POLL_MS);
    }
  }

  async pollOnce() {
    try {
      const body = await apiGet("/price", { retries: 0, timeout: 4000 });
      (body.prices || []).forEach((t) => shell.acceptPrice(t));
      if (this.lastPollOk === false && !shell.realtime) {
        toast("Prices are updating again.", { kind: "success" });
      }
      this.lastPollOk = true;
    } catch (error) {
      if (error.status === 401) {
        toast("Your session has ended. Sign in again.", { kind: "error" });
        window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
        return;
      }
      if (this.lastPollOk !== false && (this.polling || !shell.realtime)) {
        toast(`Prices could not be loaded: ${error.message}`, { kind: "error" });
      }
      this.lastPollOk = false;
      this.lastPollError = error.message;
    }
    this.render();
  }

  render() {
    clearInterval(this.reconnectTicker);
    if (!shell.realtime) {
      if (this.lastPollOk === false) {
        showConnection("offline", "Offline: cannot load prices", this.lastPollError);
      } else {
        showConnection("polling", `Polling every ${POLL_MS / 1000} s`);
      }
      return;
    }
    const state = this.socketState;
    const fallback = this.polling && this.lastPollOk ? " · polling" : "";
    if (state === "live") {
      showConnection("live", "Live");
    } else if (state === "reconnecting") {
      const info = this.socketInfo;
      if (info.dialing || !info.retryInMs) {
        showConnection("reconnecting", `Reconnecting (attempt ${info.attempt})…${fallback}`);
        return;
      }
      const tick = () => {
        const s = Math.max(0, Math.ceil((info.due - Date.now()) / 1000));
        showConnection("reconnecting", `Reconnecting in ${s} s${fallback}`, info.reason);
      };
      tick();
      this.reconnectTicker = setInterval(tick, 1000);
    } else if (state === "offline") {
      showConnection("offline", "Offline", this.socketInfo.reason);
    } else {
      showConnection("connecting", "Connecting…");
    }
  }
}

// --- tabs --------------------------------------------------------------------------------

function initTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"][data-tab]')];
  if (!tabs.length) return;
  const activate = (tab, focus = false) => {
    tabs.forEach((t) => {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
    save(STORE.tab, tab.dataset.tab);
    shell.emit("tabchange", { key: tab.dataset.tab });
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => activate(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) activate(tabs[(i + step + tabs.length) % tabs.length], true);
    });
  });
  const stored = tabs.find((t) => t.dataset.tab === load(STORE.tab, null));
  if (stored) activate(stored);
}

// --- sidebar controls ------------------------------------------------------------------

function initSidebar(feed) {
  const select = document.getElementById("symbol-select");
  if (select) {
    if (shell.symbol) select.value = shell.symbol;
    select.addEventListener("change", () => shell.setSymbol(select.value));
  }
  const toggle = document.getElementById("realtime-toggle");
  if (toggle) {
    toggle.checked = shell.realtime;
    toggle.addEventListener("change", () => feed.setRealtime(toggle.checked));
  }
}

initTabs();

document.addEventListener("DOMContentLoaded", () => {
  const feed = new PriceFeed();
  initSidebar(feed);
  feed.start();
});
