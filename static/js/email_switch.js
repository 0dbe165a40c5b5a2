// The sidebar's e-mail switch: GET and POST /settings/email_enabled.
//
// Switching on an incomplete configuration is refused (400 email_not_configured): the
// switch stays off and the server's message shows under it, with a button that opens the
// E-mail tab. The switch follows saves in the E-mail tab and tells the tab about its own
// changes (shell event "emailenabled" {enabled, source}).

import { apiGet, apiPost } from "./api.js";
import { whenIdle } from "./dom.js";
import { shell } from "./shell.js";
import { toast } from "./toast.js";

const SOURCE = "sidebar";
const toggle = document.getElementById("email-toggle");
const status = document.getElementById("email-toggle-status");
const setup = document.getElementById("email-toggle-setup");

function say(text, kind = "info") {
  status.textContent = text;
  status.dataset.kind = kind;
}

function render(enabled) {
  toggle.checked = Boolean(enabled);
  setup.hidden = true;
  say(
    enabled ? "On: notifications are also e-mailed." : "Off: notifications stay in the dashboard.",
  );
}

async function load() {
  try {
    const body = await apiGet("/settings/email_enabled");
    render(body.email_enabled);
    toggle.disabled = false;
  } catch (error) {
    if (error.status === 401) return; // the shell's price feed sends the user to sign in
    say(`The e-mail setting could not be loaded: ${error.message}`, "error");
  }
}

async function change() {
  const wanted = toggle.checked;
  toggle.disabled = true;
  try {
    const body = await apiPost("/settings/email_enabled", { email_enabled: wanted });
    render(body.email_enabled);
    shell.emit("emailenabled", { enabled: Boolean(body.email_enabled), source: SOURCE });
  } catch (error) {
    toggle.checked = !wanted;
    if (error.code === "email_not_configured") {
      say(error.message, "warning");
      setup.hidden = false;
    } else {
      say(`Not changed: ${error.message}`, "error");
      toast(`E-mail notifications were not switched: ${error.message}`, { kind: "error" });
    }
  } finally {
    toggle.disabled = false;
  }
}

if (toggle) {
  toggle.addEventListener("change", change);
  setup.addEventListener("click", () => {
    if (shell.showTab("email", { focus: true })) document.getElementById("em-smtp_host")?.focus();
  });
  shell.on("emailenabled", ({ enabled, source }) => {
    if (source !== SOURCE) render(enabled);
  });
  whenIdle(load); // after the visible tab's own first requests
}
