// The API-keys page: list the user's keys, create one (its secret shown once), revoke one.
//
// The secret arrives only in the answer to POST /api_keys. It is put in the page and
// nowhere else (no storage, no URL), so a reload or leaving the page forgets it for good;
// "I have stored it" removes it at once.

import { apiDelete, apiGet, apiPost } from "./api.js";
import { fmtTime } from "./format.js";
import { toast } from "./toast.js";
import { el, setStatus } from "./dom.js";

const $ = (id) => document.getElementById(id);
const form = $("key-form");
const PERMISSIONS = { read: "Read only", trade: "Read & trade" };

function keyName(key) {
  return `${key.label || "unnamed key"} (${key.key.slice(0, 8)}…)`;
}

// --- list ----------------------------------------------------------------------------------

async function loadKeys() {
  try {
    const { api_keys: keys } = await apiGet("/api_keys");
    renderKeys(keys);
  } catch (error) {
    setStatus($("key-status"), `Your API keys could not be loaded: ${error.message}`, "error");
  }
}

function renderKeys(keys) {
  const body = $("key-rows");
  body.replaceChildren();
  keys.forEach((key) => body.append(keyRow(key)));
  $("key-table").hidden = keys.length === 0;
  const active = keys.filter((k) => k.active).length;
  $("key-list-meta").textContent = keys.length ? `${active} active, ${keys.length} in all` : "";
  setStatus($("key-status"), keys.length ? "" : "No API keys yet. Create one above.");
}

function keyRow(key) {
  const tr = el("tr", {
    attrs: { "data-key-id": String(key.id), "data-active": String(key.active) },
  });
  const cell = (name, text) => el("td", { text, attrs: { "data-cell": name } });
  const keyCell = cell("key", "");
  keyCell.append(el("code", { text: `${key.key.slice(0, 8)}…${key.key.slice(-4)}` }));
  keyCell.title = key.key;
  const status = cell("status", "");
  status.append(
    el("span", {
      className: `badge ${key.active ? "badge-open" : "badge-liquidated"}`,
      text: key.active ? "active" : "revoked",
    }),
  );
  if (!key.active) status.append(document.createTextNode(` ${fmtTime(key.revoked_at)}`));
  const actions = el("td", { attrs: { "data-cell": "actions" } });
  if (key.active) {
    const revoke = el("button", {
      className: "btn btn-xs",
      text: "Revoke",
      attrs: { type: "button", "aria-label": `Revoke ${keyName(key)}` },
    });
    revoke.addEventListener("click", () => askRevoke(key));
    actions.append(revoke);
  }
  tr.append(
    cell("label", key.label || "—"),
    keyCell,
    cell("permission", PERMISSIONS[key.permission] || key.permission),
    cell("created", fmtTime(key.created_at)),
    cell("last-used", key.last_used_at ? fmtTime(key.last_used_at) : "never"),
    status,
    actions,
  );
  return tr;
}

// --- create --------------------------------------------------------------------------------

function showSecret(created) {
  $("key-new-key").textContent = created.key;
  $("key-new-secret").textContent = created.secret;
  setStatus($("key-copy-status"), "");
  $("key-secret-box").hidden = false;
  $("key-copy").focus();
}

function forgetSecret() {
  $("key-new-secret").textContent = "";
  $("key-new-key").textContent = "";
  $("key-secret-box").hidden = true;
}

async function copySecret() {
  const secret = $("key-new-secret").textContent;
  try {
    await navigator.clipboard.writeText(secret);
  } catch {
    // No clipboard API (e.g. an insecure origin): select the text for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents($("key-new-secret"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    setStatus($("key-copy-status"), "Selected: press Ctrl+C (⌘C) to copy.");
    return;
  }
  setStatus($("key-copy-status"), "Copied to the clipboard.");
}

async function createKey() {
  const errorBox = $("key-error");
  errorBox.hidden = true;
  form.querySelectorAll("[data-error-for]").forEach((node) => {
    node.hidden = true;
  });
  const body = {
    label: $("key-label").value.trim(),
    permission: form.querySelector('input[name="permission"]:checked').value,
  };
  $("key-create").disabled = true;
  try {
    const created = await apiPost("/api_keys", body);
    showSecret(created);
    $("key-label").value = "";
    toast(`API key ${keyName(created)} created. Copy its secret now.`, { kind: "success" });
    loadKeys();
  } catch (error) {
    const fields = error.code === "invalid" ? Object.keys(error.details || {}) : [];
    fields.forEach((field) => {
      const slot = form.querySelector(`[data-error-for="${field}"]`);
      if (slot) {
        slot.textContent = [].concat(error.details[field]).join(" ");
        slot.hidden = false;
      }
    });
    errorBox.textContent = error.message;
    errorBox.hidden = false;
  } finally {
    $("key-create").disabled = false;
  }
}

// --- revoke --------------------------------------------------------------------------------

const revoke = { key: null };

function askRevoke(key) {
  revoke.key = key;
  $("revoke-name").textContent = keyName(key);
  $("revoke-dialog").showModal();
}

async function confirmRevoke() {
  const key = revoke.key;
  if (!key) return;
  try {
    await apiDelete(`/api_keys/${key.id}`);
    toast(`API key ${keyName(key)} revoked.`, { kind: "success" });
    if ($("key-new-key").textContent === key.key) forgetSecret();
  } catch (error) {
    toast(`API key ${keyName(key)} was not revoked: ${error.message}`, { kind: "error" });
  }
  revoke.key = null;
  loadKeys();
}

// --- wiring --------------------------------------------------------------------------------

if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    createKey();
  });
  $("key-copy").addEventListener("click", copySecret);
  $("key-secret-done").addEventListener("click", forgetSecret);
  $("revoke-cancel").addEventListener("click", () => $("revoke-dialog").close());
  $("revoke-form").addEventListener("submit", () => confirmRevoke());
  loadKeys();
}
