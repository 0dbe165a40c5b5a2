// Calls to our own JSON API from the dashboard (session cookie auth).
//
// Every failure becomes an ApiError whose message a person can read: the server's own
// {"error": {"code", "message", "details"}} when it sent one, plain words otherwise.
// Only GETs are retried (they are idempotent); a write is never sent twice.

const DEFAULT_TIMEOUT_MS = 8000;
const DEFAULT_GET_RETRIES = 2;
const MAX_BACKOFF_MS = 10000;
// A page should not sit silent longer than this, whatever Retry-After asks for.
const MAX_RETRY_AFTER_MS = 30000;

export class ApiError extends Error {
  constructor(message, { status = 0, code = "error", details = {} } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0 when no HTTP answer arrived (network error or timeout)
    this.code = code;
    this.details = details;
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryable(error) {
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

// Seconds or an HTTP date, as RFC 9110 allows; null when absent or unreadable.
function retryAfterMs(response) {
  const header = response && response.headers.get("Retry-After");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

function statusWords(status) {
  if (status === 401) return "Your session has ended. Sign in again.";
  if (status === 403) return "You are not allowed to do this.";
  if (status === 404) return "Not found.";
  if (status === 429) return "Too many requests. Wait a moment and try again.";
  if (status >= 500) return `The server had a problem (HTTP ${status}). Try again in a moment.`;
  return `The request failed (HTTP ${status}).`;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (e.g. the proxy's own 502 page): fall back to words for the status.
  }
  const err = body && body.error;
  if (err && err.message) {
    return new ApiError(err.message, {
      status: response.status,
      code: err.code || "error",
      details: err.details || {},
    });
  }
  return new ApiError(statusWords(response.status), {
    status: response.status,
    code: response.status >= 500 ? "server_error" : "http_error",
  });
}

async function once(method, path, { body, timeout, signal }) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeout);
  const onOuterAbort = () => controller.abort();
  if (signal) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener("abort", onOuterAbort, { once: true });
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  try {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
    } catch (error) {
      if (signal && signal.aborted) throw error; // the caller cancelled: not an API failure
      if (timedOut) {
        throw new ApiError(`The server did not answer within ${Math.round(timeout / 1000)} s.`, {
          code: "timeout",
        });
      }
      throw new ApiError("Cannot reach the server. Check the connection; retrying shortly.", {
        code: "network_error",
      });
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      error.retryAfterMs = retryAfterMs(response);
      throw error;
    }
    if (response.status === 204) return null;
    try {
      return await response.json();
    } catch {
      throw new ApiError("The server sent an answer that is not JSON.", {
        status: response.status,
        code: "bad_response",
      });
    }
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onOuterAbort);
  }
}

// GET with retries on network errors, 5xx and 429 (honouring Retry-After).
// Options: timeout (ms), retries (count), signal (AbortSignal to cancel).
export async function apiGet(path, { timeout = DEFAULT_TIMEOUT_MS, retries, signal } = {}) {
  const attempts = 1 + (retries ?? DEFAULT_GET_RETRIES);
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await once("GET", path, { timeout, signal });
    } catch (error) {
      const last = attempt + 1 >= attempts;
      if (!(error instanceof ApiError) || !retryable(error) || last) throw error;
      const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(Math.min(error.retryAfterMs ?? backoff, MAX_RETRY_AFTER_MS));
      if (signal && signal.aborted) throw error;
    }
  }
}

export function apiPost(path, body = {}, { timeout = DEFAULT_TIMEOUT_MS, signal } = {}) {
  return once("POST", path, { body, timeout, signal });
}

export function apiPatch(path, body = {}, { timeout = DEFAULT_TIMEOUT_MS, signal } = {}) {
  return once("PATCH", path, { body, timeout, signal });
}

export function apiDelete(path, body, { timeout = DEFAULT_TIMEOUT_MS, signal } = {}) {
  return once("DELETE", path, { body, timeout, signal });
}

// True when the error only means the caller cancelled the request.
export function isAbort(error) {
  return error && error.name === "AbortError";
}
