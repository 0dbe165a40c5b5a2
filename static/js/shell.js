// The dashboard shell: tabs, the symbol selector, the real-time toggle, the connection
// indicator and the one price feed every tab listens to.
//
// Tabs import `shell` and listen for:
//   "symbolchange" {symbol}      the sidebar's symbol changed (also persisted)
//   "price"        {ticker}      a newer price for one symbol (WebSocket or polling)
//   "connection"   {state, text} the indicator changed
//   "tabchange"    {key}         a tab became visible (charts resize on it)
//   "emailenabled" {enabled, source}  e-mail notifications were switched on or off (the
//                                sidebar's switch, the E-mail tab's form) so the other follows
//   "modelchange"  {symbol, timeframe, versionId, source, reason}
//                                a model version was activated ("activated") or trained
//                                ("created"); emitted by whoever did it (the sidebar's model
//                                selector, the ML Prediction tab) so the others refresh
// The feed starts on DOMContentLoaded, after every tab module has attached its listeners.

import { apiGet, apiPost } from "./api.js";
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
    this.showTab = () => false; // set by initTabs once the tab buttons are wired
    const select = document.getElementById("symbol-select");
    this.symbols = select ? [...select.options].map((o) => o.value) : [];
    const stored = load(STORE.symbol, null);
    // This browser's last choice, else the user's default symbol (/settings), else the first.
    const preferred = select?.dataset.default;
    const fallback = this.symbols.includes(preferred) ? preferred : (this.symbols[0] ?? null);
    this.symbol = this.symbols.includes(stored) ? stored : fallback;
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
  // Other modules (a notification's link, the sidebar's e-mail switch) open a tab by key;
  // so does a link to "/#<key>" (or "/#tab-<key>"), on load and while the page is open.
  shell.showTab = (key, { focus = false } = {}) => {
    const tab = tabs.find((t) => t.dataset.tab === key);
    if (tab) activate(tab, focus);
    return Boolean(tab);
  };
  const fromHash = () => {
    const key = decodeURIComponent(window.location.hash.slice(1)).replace(/^tab-/, "");
    return key && shell.showTab(key);
  };
  window.addEventListener("hashchange", fromHash);
  if (fromHash()) return;
  const stored = tabs.find((t) => t.dataset.tab === load(STORE.tab, null));
  if (stored) activate(stored);
}

// --- model selector --------------------------------------------------------------------
// The sidebar symbol's 1h model versions, the one answering the user selected. Choosing one
// activates it for this user only (POST /model/active_version); an older one is a rollback.

const MODEL_TIMEFRAME = "1h";
const ALGORITHM_SHORT = {
  hist_gradient_boosting: "boosting",
  logistic_regression: "logistic",
  random_forest: "forest",
};

class ModelSelector {
  constructor(select, status) {
    this.select = select;
    this.status = status;
    this.seq = 0; // answers to an older load are dropped
    this.activeId = null;
  }

  setStatus(text, kind = "info") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  option(text, value, attrs = {}) {
    const node = document.createElement("option");
    node.value = value;
    node.textContent = text;
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  }

  async load() {
    const seq = ++this.seq;
    const symbol = shell.symbol;
    if (!symbol) {
      this.select.replaceChildren(this.option("No symbol", ""));
      this.select.disabled = true;
      this.setStatus("");
      return;
    }
    const query = `symbol=${encodeURIComponent(symbol)}&timeframe=${MODEL_TIMEFRAME}`;
    try {
      const [list, active] = await Promise.all([
        apiGet(`/model/versions?${query}&page_size=100`),
        apiGet(`/model/active_version?${query}`),
      ]);
      if (seq === this.seq) this.render(symbol, list.results, active);
    } catch (error) {
      if (seq !== this.seq) return;
      this.select.disabled = true;
      this.setStatus(`Models could not be loaded: ${error.message}`, "error");
    }
  }

  render(symbol, versions, active) {
    this.activeId = active.version ? active.version.id : null;
    const options = versions.map((v) =>
      this.option(
        `v${v.version} · ${ALGORITHM_SHORT[v.algorithm] || v.algorithm} · ${v.shared ? "shared" : "yours"}`,
        String(v.id),
        { title: `${v.symbol} ${v.timeframe} v${v.version} (#${v.id}), ${v.algorithm}` },
      ),
    );
    if (this.activeId === null) {
      const none = versions.length ? "None active: choose one" : `No model for ${symbol}`;
      options.unshift(this.option(none, "", { disabled: "" }));
    }
    this.select.replaceChildren(...options);
    this.select.value = this.activeId === null ? "" : String(this.activeId);
    this.select.disabled = !versions.length;
    if (this.activeId === null) {
      this.setStatus(versions.length ? "" : "Train one in the ML Prediction tab.");
    } else {
      const who = active.scope === "user" ? "your choice" : "the shared default";
      this.setStatus(`v${active.version.version} answers you (${who}).`);
    }
  }

  async choose(value) {
    if (!value || Number(value) === this.activeId) return;
    this.select.disabled = true;
    this.setStatus("Activating…");
    try {
      const body = await apiPost("/model/active_version", { version_id: Number(value) });
      this.activeId = body.version.id;
      const name = `${body.symbol} ${body.timeframe} v${body.version.version}`;
      this.setStatus(`v${body.version.version} is now active for you.`, "success");
      toast(`Model ${name} is now active for you.`, { kind: "success" });
      shell.emit("modelchange", {
        symbol: body.symbol,
        timeframe: body.timeframe,
        versionId: body.version.id,
        source: "sidebar",
        reason: "activated",
      });
    } catch (error) {
      this.select.value = this.activeId === null ? "" : String(this.activeId);
      const text =
        error.code === "model_artifact_invalid"
          ? `That version's model file failed its integrity check: ${error.message}`
          : `The model could not be activated: ${error.message}`;
      this.setStatus(text, "error");
      toast(text, { kind: "error" });
    } finally {
      this.select.disabled = false;
    }
  }
}

function initModelSelector() {
  const select = document.getElementById("model-select");
  if (!select) return;
  const selector = new ModelSelector(select, document.getElementById("model-select-status"));
  select.addEventListener("change", () => selector.choose(select.value));
  shell.on("symbolchange", () => selector.load());
  shell.on("modelchange", ({ source }) => {
    if (source !== "sidebar") selector.load();
  });
  selector.load();
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
  initModelSelector();
  feed.start();
});
