// Small DOM helpers every tab uses: build elements, show a status line, and put the
// server's per-field error messages (docs/API.md "Errors", details) under their fields.

export function el(tag, { className, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  return node;
}

export function setStatus(node, text, kind = "info") {
  node.textContent = text;
  node.dataset.kind = kind;
  node.hidden = !text;
}

export function messagesText(value) {
  if (Array.isArray(value)) return value.map(messagesText).join(" ");
  if (value && typeof value === "object") return Object.values(value).map(messagesText).join(" ");
  return String(value ?? "");
}

// Puts the server's per-field messages under their fields ([data-error-for="name ..."]);
// returns the ones with no field, for a notice.
export function showFieldErrors(container, details) {
  const unplaced = [];
  const slots = [...container.querySelectorAll("[data-error-for]")];
  Object.entries(details || {}).forEach(([field, messages]) => {
    const text = messagesText(messages);
    const slot = slots.find((node) => node.dataset.errorFor.split(" ").includes(field));
    if (!slot) {
      unplaced.push(field === "non_field_errors" ? text : `${field}: ${text}`);
      return;
    }
    slot.textContent = text;
    slot.hidden = false;
    const input = slot.closest(".field")?.querySelector('input:not([type="radio"]), select');
    if (input) input.setAttribute("aria-invalid", "true");
  });
  return unplaced;
}

export function clearFieldErrors(container) {
  container.querySelectorAll("[data-error-for]").forEach((node) => {
    node.hidden = true;
    node.textContent = "";
  });
  container.querySelectorAll('[aria-invalid="true"]').forEach((node) => {
    node.removeAttribute("aria-invalid");
  });
}

// Runs `fn` once the page has loaded and the browser is idle (at most `timeout` ms later):
// for requests that can wait, so that the visible tab's own first requests go first.
export function whenIdle(fn, { timeout = 2000 } = {}) {
  const idle = () => {
    if ("requestIdleCallback" in window) window.requestIdleCallback(() => fn(), { timeout });
    else setTimeout(fn, 200);
  };
  if (document.readyState === "complete") idle();
  else window.addEventListener("load", idle, { once: true });
}
