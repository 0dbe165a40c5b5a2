// Short notices in the corner: info, success, warning, error.
//
// Errors and warnings use role="alert" so screen readers announce them at once; info and
// success use role="status". The same message shown again while still visible is not
// stacked a second time: its timer restarts instead (polling failures would flood otherwise).
// An optional `title` is shown in bold above the message (notifications use it).

const DURATIONS_MS = { info: 4000, success: 4000, warning: 7000, error: 9000 };
const MAX_VISIBLE = 4;

function container() {
  let box = document.getElementById("toasts");
  if (!box) {
    box = document.createElement("div");
    box.id = "toasts";
    box.className = "toasts";
    document.body.appendChild(box);
  }
  return box;
}

function dismiss(node) {
  clearTimeout(node._timer);
  node.classList.add("toast-leaving");
  setTimeout(() => node.remove(), 200);
}

function arm(node, ms) {
  clearTimeout(node._timer);
  if (ms > 0) node._timer = setTimeout(() => dismiss(node), ms);
}

export function toast(message, { kind = "info", timeoutMs, title = "" } = {}) {
  const box = container();
  const ms = timeoutMs ?? DURATIONS_MS[kind] ?? DURATIONS_MS.info;
  const existing = [...box.children].find(
    (n) =>
      n.dataset.kind === kind && n.dataset.message === message && (n.dataset.title || "") === title,
  );
  if (existing) {
    arm(existing, ms);
    return existing;
  }
  const node = document.createElement("div");
  node.className = `toast toast-${kind}`;
  node.dataset.kind = kind;
  node.dataset.message = message;
  if (title) node.dataset.title = title;
  node.setAttribute("role", kind === "error" || kind === "warning" ? "alert" : "status");
  const text = document.createElement("span");
  text.className = "toast-text";
  if (title) {
    const head = document.createElement("strong");
    head.className = "toast-title";
    head.textContent = title;
    const body = document.createElement("span");
    body.textContent = message;
    text.append(head, body);
  } else {
    text.textContent = message;
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => dismiss(node));
  node.append(text, close);
  // Hovering keeps a notice readable; leaving restarts its timer.
  node.addEventListener("mouseenter", () => clearTimeout(node._timer));
  node.addEventListener("mouseleave", () => arm(node, ms));
  box.appendChild(node);
  while (box.children.length > MAX_VISIBLE) box.firstElementChild.remove();
  arm(node, ms);
  return node;
}

export const toastInfo = (m, o) => toast(m, { ...o, kind: "info" });
export const toastSuccess = (m, o) => toast(m, { ...o, kind: "success" });
export const toastWarning = (m, o) => toast(m, { ...o, kind: "warning" });
export const toastError = (m, o) => toast(m, { ...o, kind: "error" });
