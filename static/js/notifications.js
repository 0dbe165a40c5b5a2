// The notification bell, its panel and the live feed, on every tab of the shell.
//
// - The bell's badge is the unread count, kept current by /ws/notifications ({"type":
//   "unread", unread_count} on each connect and after every read, unread or delete;
//   {"type": "notification", notification, unread_count} for every new one); GET
//   /notifications?unread=true&page_size=1 only when the socket has not answered in 5 s.
// - A new notification becomes a toast, its kind from the level (info → info, warning →
//   warning, error and critical → error; good news: take_profit, upload_done and
//   model_retrained → success), and goes to the top of the panel's list when that is loaded.
//   The shell emits "notification" {notification} for tabs that want to react.
// - The panel: GET /notifications?page_size=20 (&unread=true with "Unread only"); "Load
//   more" follows `next`; PATCH /notifications/{id} {read} marks one read or unread,
//   DELETE /notifications/{id} removes it, POST /notifications/mark_all_read marks all.
// - A notification's link ("/#<tab key>") opens that tab and marks it read.
// The socket reconnects with backoff (ws.js); its state is on the bell's data-socket.

import { apiDelete, apiGet, apiPatch, apiPost } from "./api.js";
import { el, setStatus } from "./dom.js";
import { fmtTime } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";
import { LiveSocket } from "./ws.js";

const PAGE_SIZE = 20;
const COUNT_FALLBACK_MS = 5000;
const SUCCESS_KINDS = new Set(["take_profit", "upload_done", "model_retrained"]);
const TOAST_KINDS = { info: "info", warning: "warning", error: "error", critical: "error" };
const LEVELS = { info: "Info", warning: "Warning", error: "Error", critical: "Critical" };

const $ = (id) => document.getElementById(id);
const bell = $("notif-bell");
const panel = $("notif-panel");
const list = $("notif-list");
const status = $("notif-status");
const more = $("notif-more");
const unreadOnly = $("notif-unread-only");
const markAll = $("notif-mark-all");

const state = {
  unread: 0,
  liveCount: false, // the socket has given a count: a slower HTTP answer must not undo it
  items: [], // the loaded notifications, newest first
  next: null, // path of the next (older) page; null when everything is loaded
  loaded: false, // the list reflects the server; otherwise it loads when the panel opens
  seq: 0, // answers to an older list request are dropped
  connects: 0,
};

export function toastKind(notification) {
  if (SUCCESS_KINDS.has(notification.kind)) return "success";
  return TOAST_KINDS[notification.level] || "info";
}

// A `next` URL from the API as a same-origin path (the proxy may name another host).
function asPath(url) {
  if (!url) return null;
  const parsed = new URL(url, window.location.origin);
  return `${parsed.pathname}${parsed.search}`;
}

function ago(ms) {
  const seconds = Math.round((Date.now() - ms) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${fmtTime(ms)} UTC`;
}

const createdMs = (n) => n.created_at_ms ?? Date.parse(n.created_at);

// "/#trade" or "/#tab-trade" → "trade"; null for any other link.
function tabKey(link) {
  if (!link) return null;
  const url = new URL(link, window.location.origin);
  if (url.origin !== window.location.origin || url.pathname !== "/" || !url.hash) return null;
  return decodeURIComponent(url.hash.slice(1)).replace(/^tab-/, "");
}

// --- badge ---------------------------------------------------------------------------------

function setUnread(count) {
  state.unread = Math.max(0, Number(count) || 0);
  const badge = $("notif-badge");
  badge.textContent = state.unread > 99 ? "99+" : String(state.unread);
  badge.hidden = state.unread === 0;
  bell.dataset.count = String(state.unread);
  const words = state.unread ? `${state.unread} unread` : "none unread";
  bell.setAttribute("aria-label", `Notifications, ${words}`);
  bell.title = `Notifications (${words})`;
  $("notif-summary").textContent = state.unread ? `${state.unread} unread` : "All read";
  markAll.disabled = state.unread === 0;
}

// A read, unread or delete changes the count. While the socket is live the server pushes
// the new count (and may do so before our own request has answered), so only without it
// is the count adjusted here.
function adjustUnread(delta) {
  if (bell.dataset.socket !== "live") setUnread(state.unread + delta);
}

async function loadCount() {
  try {
    const body = await apiGet("/notifications?unread=true&page_size=1", { retries: 1 });
    if (!state.liveCount) setUnread(body.unread_count);
  } catch (error) {
    if (error.status === 401) return; // the shell's price feed sends the user to sign in
    bell.title = `Notifications could not be loaded: ${error.message}`;
  }
}

// --- the list ------------------------------------------------------------------------------

function itemNode(n) {
  const node = el("li", {
    className: `notif notif-${n.level}`,
    attrs: {
      "data-id": String(n.id),
      "data-kind": n.kind || "",
      "data-level": n.level,
      "data-read": String(Boolean(n.read)),
    },
  });
  const head = el("div", { className: "notif-head-row" });
  const level = el("span", {
    className: `badge level-${n.level}`,
    text: LEVELS[n.level] || n.level,
  });
  const title = el("strong", { className: "notif-title", text: n.title });
  const ms = createdMs(n);
  const time = el("time", {
    className: "notif-time muted small",
    text: ago(ms),
    attrs: { datetime: n.created_at, title: `${fmtTime(ms)} UTC` },
  });
  head.append(level, title, time);
  node.append(head);
  if (n.message) node.append(el("p", { className: "notif-msg", text: n.message }));
  const actions = el("div", { className: "notif-actions" });
  const key = tabKey(n.link);
  if (n.link) {
    actions.append(
      el("a", {
        className: "notif-link small",
        text: "Open",
        attrs: { href: n.link, "data-action": "open", ...(key ? { "data-tab": key } : {}) },
      }),
    );
  }
  actions.append(
    el("button", {
      className: "btn btn-xs",
      text: n.read ? "Mark unread" : "Mark read",
      attrs: {
        type: "button",
        "data-action": "read",
        "aria-label": `${n.read ? "Mark unread" : "Mark read"}: ${n.title}`,
      },
    }),
    el("button", {
      className: "btn btn-xs",
      text: "Delete",
      attrs: { type: "button", "data-action": "delete", "aria-label": `Delete: ${n.title}` },
    }),
  );
  node.append(actions);
  return node;
}

function render() {
  list.replaceChildren(...state.items.map(itemNode));
  more.hidden = !state.next;
  if (!state.items.length) {
    setStatus(status, unreadOnly.checked ? "No unread notifications." : "No notifications yet.");
  } else if (status.dataset.kind !== "error") {
    setStatus(status, "");
  }
}

function replaceItem(n) {
  const index = state.items.findIndex((i) => i.id === n.id);
  if (index === -1) return;
  state.items[index] = n;
  const node = list.querySelector(`[data-id="${n.id}"]`);
  if (node) node.replaceWith(itemNode(n));
}

async function load({ append = false } = {}) {
  const seq = ++state.seq;
  const path = append
    ? state.next
    : `/notifications?page_size=${PAGE_SIZE}${unreadOnly.checked ? "&unread=true" : ""}`;
  if (!path) return;
  if (append) {
    more.disabled = true;
    more.textContent = "Loading…";
  } else if (!state.loaded) {
    setStatus(status, "Loading…");
  }
  try {
    const body = await apiGet(path);
    if (seq !== state.seq) return;
    const known = new Set(append ? state.items.map((i) => i.id) : []);
    const fresh = body.results.filter((n) => !known.has(n.id));
    state.items = append ? state.items.concat(fresh) : fresh;
    state.next = asPath(body.next);
    state.loaded = true;
    setUnread(body.unread_count);
    setStatus(status, "");
    render();
  } catch (error) {
    if (seq !== state.seq) return;
    setStatus(status, `Notifications could not be loaded: ${error.message}`, "error");
  } finally {
    more.disabled = false;
    more.textContent = "Load more";
  }
}

async function setRead(n, read, { quiet = false } = {}) {
  const was = Boolean(n.read);
  try {
    const body = await apiPatch(`/notifications/${n.id}`, { read });
    if (Boolean(body.read) !== was) adjustUnread(body.read ? -1 : 1);
    replaceItem(body);
  } catch (error) {
    if (error.status === 404) forget(n); // deleted meanwhile (in another browser tab)
    else if (!quiet) {
      toast(`The notification could not be updated: ${error.message}`, { kind: "error" });
    }
  }
}

function forget(n) {
  state.items = state.items.filter((i) => i.id !== n.id);
  if (!n.read) adjustUnread(-1);
  render();
}

async function remove(n, button) {
  button.disabled = true;
  try {
    await apiDelete(`/notifications/${n.id}`);
    forget(n);
  } catch (error) {
    if (error.status === 404) {
      forget(n); // already gone (another tab deleted it)
      return;
    }
    button.disabled = false;
    toast(`The notification could not be deleted: ${error.message}`, { kind: "error" });
  }
}

async function markAllRead() {
  markAll.disabled = true;
  try {
    const body = await apiPost("/notifications/mark_all_read", {});
    const stamp = new Date().toISOString();
    state.items = state.items.map((n) => (n.read ? n : { ...n, read: true, read_at: stamp }));
    setUnread(body.unread_count ?? 0);
    render();
    const marked = Number(body.marked) || 0;
    toast(
      marked
        ? `Marked ${marked} notification${marked === 1 ? "" : "s"} read.`
        : "Nothing was unread.",
      { kind: "success" },
    );
  } catch (error) {
    markAll.disabled = state.unread === 0;
    toast(`Could not mark all read: ${error.message}`, { kind: "error" });
  }
}

function onListClick(event) {
  const target = event.target.closest("[data-action]");
  if (!target) return;
  const id = Number(target.closest("[data-id]").dataset.id);
  const n = state.items.find((i) => i.id === id);
  if (!n) return;
  const action = target.dataset.action;
  if (action === "read") setRead(n, !n.read);
  else if (action === "delete") remove(n, target);
  else if (action === "open") {
    if (!n.read) setRead(n, true, { quiet: true });
    const key = target.dataset.tab;
    if (key && shell.showTab(key)) {
      event.preventDefault();
      close();
    }
  }
}

// --- the panel -----------------------------------------------------------------------------

const isOpen = () => !panel.hidden;

function open() {
  panel.hidden = false;
  bell.setAttribute("aria-expanded", "true");
  panel.focus();
  load();
}

function close({ focusBell = false } = {}) {
  if (!isOpen()) return;
  panel.hidden = true;
  bell.setAttribute("aria-expanded", "false");
  if (focusBell) bell.focus();
}

// --- the live feed -------------------------------------------------------------------------

function onNotification(message) {
  const n = message.notification;
  if (!n) return;
  if (message.unread_count !== undefined) {
    state.liveCount = true;
    setUnread(message.unread_count);
  } else if (!n.read) {
    setUnread(state.unread + 1);
  }
  const node = toast(n.message || n.title, {
    kind: toastKind(n),
    title: n.message ? n.title : "",
  });
  node.dataset.notificationId = String(n.id);
  if (state.loaded && !state.items.some((i) => i.id === n.id)) {
    state.items.unshift(n);
    if (isOpen()) render();
  }
  shell.emit("notification", { notification: n });
}

function onMessage(message) {
  if (message.type === "notification") onNotification(message);
  else if (message.type === "unread") {
    // On each connect, and after any read, unread or delete (from any browser tab).
    state.liveCount = true;
    setUnread(message.unread_count);
  }
}

function onSocketState(socketState) {
  bell.dataset.socket = socketState;
  if (socketState !== "live") return;
  state.connects += 1;
  // Back after a drop: the list may have missed notifications meanwhile.
  if (state.connects > 1) {
    state.loaded = false;
    if (isOpen()) load();
  }
}

if (bell && panel) {
  panel.tabIndex = -1;
  bell.addEventListener("click", () => (isOpen() ? close() : open()));
  $("notif-close").addEventListener("click", () => close({ focusBell: true }));
  unreadOnly.addEventListener("change", () => {
    state.loaded = false;
    load();
  });
  markAll.addEventListener("click", markAllRead);
  more.addEventListener("click", () => load({ append: true }));
  list.addEventListener("click", onListClick);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) close({ focusBell: true });
  });
  document.addEventListener("pointerdown", (event) => {
    if (isOpen() && !panel.contains(event.target) && !bell.contains(event.target)) close();
  });
  // Relative times ("3 min ago") age while the panel is open.
  setInterval(() => {
    if (isOpen() && state.items.length) render();
  }, 60000);

  const socket = new LiveSocket("/ws/notifications", { onMessage, onState: onSocketState });
  setUnread(0);
  socket.start();
  // The socket's first message is the count; ask over HTTP only when it is slow to come.
  setTimeout(() => {
    if (!state.liveCount) loadCount();
  }, COUNT_FALLBACK_MS);
}
