// Tab 6 "E-mail": the user's SMTP settings, which notifications are e-mailed, a connection
// test and a test e-mail; and the account's preferences, whose theme applies at once.
//
// - GET /email/config fills the form. The password field is always empty: "a password is
//   stored" shows when password_set. Save (POST /email/config) sends every writable field
//   but the password, which is sent only when typed ("" with "Clear the stored password");
//   a 400's per-field details go under their fields. Recipients are typed comma-separated
//   and sent as a list; no kind ticked means every kind.
// - "Test connection" (POST /email/test) tries the form's current values without saving
//   them; "Send test e-mail" (POST /email/send_test) uses the saved settings. The outcome
//   shows inline: the server's message, or the error with the SMTP server's own answer
//   (details.smtp_code, details.smtp_answer) when it gave one.
// - GET/POST /settings: default symbol and timeframe, theme, quiet hours and time zone. The
//   settings load with the page, because the theme applies to every tab (<html
//   data-theme>, remembered for the next load by theme.js); the e-mail settings load when
//   the tab is first shown.
// "emailenabled" {enabled, source} keeps the form and the sidebar's switch in step.

import { apiGet, apiPost } from "./api.js";
import { clearFieldErrors, el, setStatus, showFieldErrors, whenIdle } from "./dom.js";
import { fmtTime } from "./format.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";

const TAB = "email";
const SOURCE = "email-tab";
const THEME_KEY = "cryptobot.theme";
const THEMES = ["system", "light", "dark"];
const LEVEL_LABELS = {
  info: "Info and above",
  warning: "Warnings and above",
  error: "Errors and above",
  critical: "Critical only",
};
const PREF_FIELDS = [
  "default_symbol",
  "default_timeframe",
  "theme",
  "quiet_hours_start",
  "quiet_hours_end",
  "timezone",
];
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

const $ = (id) => document.getElementById(id);
const root = $("email-root");
const panel = $(`panel-${TAB}`);
const form = $("email-form");
const prefs = $("prefs-form");
const field = (node, name) => node.elements.namedItem(name);
const visible = () => panel && !panel.hidden;

const view = {
  config: null, // the e-mail settings as last read from the server
  configDirty: false,
  configSeq: 0,
  settings: null, // the preferences as last read from the server
  prefsDirty: false,
  timezonesFilled: false,
};

// --- theme ---------------------------------------------------------------------------------

export function applyTheme(theme) {
  if (!THEMES.includes(theme)) return;
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(THEME_KEY, JSON.stringify(theme));
  } catch {
    // Private mode or full storage: the theme lasts for this page only.
  }
}

// --- e-mail settings -----------------------------------------------------------------------

function markConfigDirty(dirty) {
  view.configDirty = dirty;
  $("email-dirty").hidden = !dirty;
}

function fillKinds(available, chosen) {
  const picked = new Set(chosen || []);
  const chips = (available || []).map(({ kind, label }) => {
    const box = el("input", { attrs: { type: "checkbox", name: "kinds", value: kind } });
    box.checked = picked.has(kind);
    const chip = el("label", { className: "chip" });
    chip.append(box, ` ${label || kind}`);
    return chip;
  });
  $("em-kinds").replaceChildren(...chips);
}

function fillLevels(levels, chosen) {
  const select = $("em-min_level");
  select.replaceChildren(
    ...(levels || []).map((level) =>
      el("option", { text: LEVEL_LABELS[level] || level, attrs: { value: level } }),
    ),
  );
  select.value = chosen || (levels || [])[0] || "";
}

function showPasswordState(stored) {
  $("em-password").value = "";
  $("em-password").disabled = false;
  $("em-password-clear").checked = false;
  $("em-password-clear-row").hidden = !stored;
  $("em-password").placeholder = stored ? "•••••••• (stored)" : "";
  $("em-password-hint").textContent = stored
    ? "A password is stored. Leave the field empty to keep it."
    : "No password is stored.";
  form.dataset.passwordSet = String(Boolean(stored));
}

function fillConfig(config) {
  view.config = config;
  field(form, "enabled").checked = Boolean(config.enabled);
  ["smtp_host", "username", "from_email"].forEach((name) => {
    field(form, name).value = config[name] ?? "";
  });
  field(form, "smtp_port").value = config.smtp_port ?? "";
  field(form, "use_tls").checked = Boolean(config.use_tls);
  field(form, "use_ssl").checked = Boolean(config.use_ssl);
  field(form, "recipients").value = (config.recipients || []).join(", ");
  showPasswordState(config.password_set);
  fillKinds(config.available_kinds, config.kinds);
  fillLevels(config.levels, config.min_level);
  $("email-updated").textContent = config.updated_at
    ? `Updated ${fmtTime(config.updated_at)} UTC`
    : "Not saved yet";
  markConfigDirty(false);
}

export function parseRecipients(text) {
  return text
    .split(/[,;\s]+/)
    .map((part) => part.trim())
    .filter(Boolean);
}

// The form as an /email/config body, and errors for values that cannot be sent at all.
function readConfig() {
  const errors = {};
  const body = {
    enabled: field(form, "enabled").checked,
    smtp_host: field(form, "smtp_host").value.trim(),
    use_tls: field(form, "use_tls").checked,
    use_ssl: field(form, "use_ssl").checked,
    username: field(form, "username").value.trim(),
    from_email: field(form, "from_email").value.trim(),
    recipients: parseRecipients(field(form, "recipients").value),
    kinds: [...form.querySelectorAll('input[name="kinds"]:checked')].map((box) => box.value),
    min_level: field(form, "min_level").value,
  };
  const port = field(form, "smtp_port");
  const raw = port.value.trim();
  if (port.validity.badInput || (raw && !/^\d+$/.test(raw))) {
    errors.smtp_port = "Enter a port number from 1 to 65535.";
  } else if (raw) {
    body.smtp_port = Number(raw); // empty: the stored port stays
  }
  if (!body.min_level) delete body.min_level;
  // Write-only: omitted keeps the stored password, "" clears it.
  if ($("em-password-clear").checked) body.password = "";
  else if ($("em-password").value) body.password = $("em-password").value;
  return { body, errors };
}

function setEnabledEverywhere(enabled) {
  shell.emit("emailenabled", { enabled: Boolean(enabled), source: SOURCE });
}

async function loadConfig({ force = false } = {}) {
  if (view.configDirty && !force) return;
  const seq = ++view.configSeq;
  try {
    const body = await apiGet("/email/config");
    if (seq !== view.configSeq) return;
    fillConfig(body);
    clearFieldErrors(form);
    form.hidden = false;
    setStatus($("email-status"), "");
  } catch (error) {
    if (seq !== view.configSeq) return;
    const text = `The e-mail settings could not be loaded: ${error.message}`;
    setStatus($("email-status"), text, "error");
  }
}

// A refusal's per-field messages: a 400's details, or the fields email_not_configured
// names as missing; the SMTP server's answer is shown apart.
function fieldDetails(error) {
  const details = { ...(error.details || {}) };
  const missing = Array.isArray(details.missing) ? details.missing : [];
  ["missing", "smtp_code", "smtp_answer"].forEach((key) => delete details[key]);
  missing.forEach((name) => {
    details[name] = "Needed to send e-mail.";
  });
  return details;
}

// A refused save: each field's message under its field, the rest in the form's notice.
function refusal(error) {
  const unplaced = showFieldErrors(form, fieldDetails(error));
  form.querySelector('[aria-invalid="true"]')?.focus();
  return `Not saved: ${[error.message, ...unplaced].join(" ")}`;
}

async function saveConfig(event) {
  event.preventDefault();
  clearFieldErrors(form);
  setStatus($("email-error"), "");
  const { body, errors } = readConfig();
  if (Object.keys(errors).length) {
    showFieldErrors(form, errors);
    setStatus($("email-error"), "Not saved: fix the marked fields.", "error");
    return;
  }
  const save = $("email-save");
  save.disabled = true;
  save.textContent = "Saving…";
  try {
    const answer = await apiPost("/email/config", body);
    fillConfig(answer);
    setStatus($("email-status"), "E-mail settings saved.", "success");
    toast("E-mail settings saved.", { kind: "success" });
    setEnabledEverywhere(answer.enabled);
  } catch (error) {
    setStatus($("email-error"), refusal(error), "error");
  } finally {
    save.disabled = false;
    save.textContent = "Save e-mail settings";
  }
}

function showResult(kind, text, answer = "") {
  const box = $("email-result");
  box.hidden = false;
  box.dataset.kind = kind;
  $("email-result-text").textContent = text;
  $("email-result-answer").textContent = answer;
  $("email-result-answer").hidden = !answer;
}

function smtpAnswer(details) {
  if (!details) return "";
  const code = details.smtp_code ?? "";
  const answer = details.smtp_answer ?? "";
  if (code === "" && answer === "") return "";
  return `Server answered: ${code} ${answer}`.trim();
}

async function runCheck(button, path, body, pending) {
  const label = button.textContent;
  clearFieldErrors(form);
  setStatus($("email-error"), "");
  button.disabled = true;
  button.textContent = pending;
  showResult("pending", pending);
  try {
    const answer = await apiPost(path, body, { timeout: 30000 });
    return answer;
  } catch (error) {
    const unplaced = showFieldErrors(form, fieldDetails(error));
    showResult("error", [error.message, ...unplaced].join(" "), smtpAnswer(error.details));
    return null;
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

async function testConnection() {
  const { body, errors } = readConfig();
  if (Object.keys(errors).length) {
    showFieldErrors(form, errors);
    showResult("error", "Fix the marked fields first.");
    return;
  }
  const answer = await runCheck($("email-test"), "/email/test", body, "Connecting…");
  if (!answer) return;
  showResult("success", answer.message || "The connection works.", answer.server_answer || "");
}

async function sendTest() {
  const answer = await runCheck($("email-send-test"), "/email/send_test", {}, "Sending…");
  if (!answer) return;
  const to = (answer.recipients || []).join(", ");
  const note = view.configDirty ? " (with the saved settings, not your unsaved changes)" : "";
  showResult("success", `${answer.message || "Test e-mail sent."}${note}`, to ? `To: ${to}` : "");
}

// --- preferences ---------------------------------------------------------------------------

function markPrefsDirty(dirty) {
  view.prefsDirty = dirty;
  $("prefs-dirty").hidden = !dirty;
}

function fillTimezones() {
  if (view.timezonesFilled) return;
  view.timezonesFilled = true;
  const zones =
    typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const all = ["UTC", ...zones.filter((z) => z !== "UTC")];
  $("pref-timezones").replaceChildren(...all.map((z) => el("option", { attrs: { value: z } })));
}

function fillPrefs(settings) {
  view.settings = settings;
  field(prefs, "default_symbol").value = settings.default_symbol ?? "";
  const timeframe = field(prefs, "default_timeframe");
  const tf = settings.default_timeframe ?? "";
  if (tf && ![...timeframe.options].some((o) => o.value === tf)) {
    timeframe.append(el("option", { text: tf, attrs: { value: tf } }));
  }
  timeframe.value = tf;
  field(prefs, "theme").value = THEMES.includes(settings.theme) ? settings.theme : "system";
  field(prefs, "quiet_hours_start").value = (settings.quiet_hours_start || "").slice(0, 5);
  field(prefs, "quiet_hours_end").value = (settings.quiet_hours_end || "").slice(0, 5);
  field(prefs, "timezone").value = settings.timezone ?? "";
  markPrefsDirty(false);
}

async function loadPrefs({ force = false } = {}) {
  if (view.prefsDirty && !force) return;
  try {
    const body = await apiGet("/settings");
    applyTheme(body.theme);
    fillPrefs(body);
    clearFieldErrors(prefs);
    prefs.hidden = false;
    setStatus($("prefs-status"), "");
  } catch (error) {
    if (error.status === 401) return;
    setStatus($("prefs-status"), `Your preferences could not be loaded: ${error.message}`, "error");
  }
}

// The fields whose value differs from the saved one (POST /settings is partial, so an
// unchanged default symbol is not checked again), and errors for unreadable times.
function readPrefs() {
  const values = {};
  const errors = {};
  PREF_FIELDS.forEach((name) => {
    values[name] = field(prefs, name).value.trim();
  });
  values.default_symbol = values.default_symbol.toUpperCase();
  ["quiet_hours_start", "quiet_hours_end"].forEach((name) => {
    const raw = values[name];
    if (field(prefs, name).validity.badInput || (raw && !TIME.test(raw))) {
      errors[name] = "Enter a time as HH:MM, or leave it empty.";
    }
    values[name] = raw || null;
  });
  const saved = view.settings || {};
  const body = Object.fromEntries(
    Object.entries(values).filter(([name, value]) => (saved[name] ?? null) !== value),
  );
  return { body, errors };
}

async function savePrefs(event) {
  event.preventDefault();
  clearFieldErrors(prefs);
  setStatus($("prefs-error"), "");
  const { body, errors } = readPrefs();
  if (Object.keys(errors).length) {
    showFieldErrors(prefs, errors);
    setStatus($("prefs-error"), "Not saved: fix the marked fields.", "error");
    return;
  }
  if (!Object.keys(body).length) {
    setStatus($("prefs-status"), "Nothing to save: the form shows your saved preferences.");
    markPrefsDirty(false);
    return;
  }
  const save = $("prefs-save");
  save.disabled = true;
  save.textContent = "Saving…";
  try {
    let answer = await apiPost("/settings", body);
    if (!answer || answer.theme === undefined) answer = await apiGet("/settings");
    applyTheme(answer.theme);
    fillPrefs(answer);
    setStatus($("prefs-status"), "Preferences saved.", "success");
    toast("Preferences saved.", { kind: "success" });
  } catch (error) {
    const unplaced = showFieldErrors(prefs, error.details);
    const text = unplaced.length ? `${error.message} ${unplaced.join(" ")}` : error.message;
    setStatus($("prefs-error"), `Not saved: ${text}`, "error");
  } finally {
    save.disabled = false;
    save.textContent = "Save preferences";
  }
}

// --- wiring --------------------------------------------------------------------------------

// Each time the tab is shown: fresh values, unless the form holds unsaved edits.
function shown() {
  fillTimezones();
  loadConfig();
  loadPrefs();
}

if (root) {
  form.addEventListener("submit", saveConfig);
  form.addEventListener("input", () => markConfigDirty(true));
  form.addEventListener("change", () => markConfigDirty(true));
  $("email-test").addEventListener("click", testConnection);
  $("email-send-test").addEventListener("click", sendTest);
  // STARTTLS and SSL/TLS from the start exclude each other.
  field(form, "use_tls").addEventListener("change", (event) => {
    if (event.target.checked) field(form, "use_ssl").checked = false;
  });
  field(form, "use_ssl").addEventListener("change", (event) => {
    if (event.target.checked) field(form, "use_tls").checked = false;
  });
  $("em-password-clear").addEventListener("change", (event) => {
    $("em-password").disabled = event.target.checked;
    if (event.target.checked) $("em-password").value = "";
  });
  prefs.addEventListener("submit", savePrefs);
  prefs.addEventListener("input", () => markPrefsDirty(true));
  prefs.addEventListener("change", () => markPrefsDirty(true));
  shell.on("emailenabled", ({ enabled, source }) => {
    if (source === SOURCE || !view.config) return;
    view.config = { ...view.config, enabled };
    field(form, "enabled").checked = Boolean(enabled);
  });
  shell.on("tabchange", ({ key }) => {
    if (key === TAB) shown();
  });
  if (visible()) shown();
  else whenIdle(loadPrefs); // for the theme (theme.js applied the remembered one already)
}
