// A WebSocket that keeps itself connected.
//
// - Reconnects with exponential backoff and full jitter (so many tabs do not reconnect in
//   step after a server restart), capped, and reset once a connection has stayed up.
// - Counts as "live" only after the server has answered on it: an open socket that never
//   speaks (a proxy holding it, a consumer that is not there) is not live.
// - Sends {"action":"ping"} every 20 s and reconnects when nothing at all has arrived for
//   the ping interval plus a grace period.
// - Re-sends the subscription after each reconnect: the server forgets it with the socket.
//
// States reported to onState: connecting, live, reconnecting, offline, stopped.

export class LiveSocket {
  constructor(
    path,
    {
      symbols = [],
      onMessage = () => {},
      onState = () => {},
      pingIntervalMs = 20000,
      silenceLimitMs = 30000,
      connectTimeoutMs = 10000,
      baseDelayMs = 1000,
      maxDelayMs = 30000,
      stableAfterMs = 15000,
    } = {},
  ) {
    this.path = path;
    this.symbols = new Set(symbols);
    this.onMessage = onMessage;
    this.onState = onState;
    this.opts = {
      pingIntervalMs,
      silenceLimitMs,
      connectTimeoutMs,
      baseDelayMs,
      maxDelayMs,
      stableAfterMs,
    };
    this.state = "stopped";
    this.attempt = 0; // failed connections in a row; drives the backoff
    this.socket = null;
    this.timers = {};
    this.running = false;
    this.lastMessageAt = 0;
    this._online = () => this._connectNow();
    this._offline = () => this._goOffline();
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.symbols.size ? `?symbols=${[...this.symbols].join(",")}` : "";
    return `${scheme}//${window.location.host}${this.path}${query}`;
  }

  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener("online", this._online);
    window.addEventListener("offline", this._offline);
    this.attempt = 0;
    this._connect();
  }

  stop() {
    this.running = false;
    window.removeEventListener("online", this._online);
    window.removeEventListener("offline", this._offline);
    this._clearTimers();
    this._dropSocket(1000, "stopped by the page");
    this._setState("stopped");
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false; // not connected: the subscription is re-sent on the next connect anyway
  }

  subscribe(symbols) {
    const fresh = symbols.filter((s) => !this.symbols.has(s));
    fresh.forEach((s) => this.symbols.add(s));
    if (fresh.length) this.send({ action: "subscribe", symbols: fresh });
  }

  unsubscribe(symbols) {
    const gone = symbols.filter((s) => this.symbols.has(s));
    gone.forEach((s) => this.symbols.delete(s));
    if (gone.length) this.send({ action: "unsubscribe", symbols: gone });
  }

  // --- internals ----------------------------------------------------------------------

  // Reported on every transition and every retry, so the indicator can show the attempt.
  _setState(state, info = {}) {
    this.state = state;
    this.onState(state, info);
  }

  _clearTimers() {
    Object.values(this.timers).forEach((t) => {
      clearTimeout(t);
      clearInterval(t);
    });
    this.timers = {};
  }

  _dropSocket(code, reason) {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
      try {
        socket.close(code, reason);
      } catch {
        // Already closing: nothing to do.
      }
    }
  }

  _connectNow() {
    if (!this.running) return;
    this.attempt = 0;
    this._clearTimers();
    this._dropSocket(1000, "reconnecting");
    this._connect();
  }

  _goOffline() {
    if (!this.running) return;
    this._clearTimers();
    this._dropSocket(1000, "browser offline");
    this._setState("offline", { reason: "The browser reports no network connection." });
  }

  _connect() {
    if (!this.running) return;
    if (navigator.onLine === false) {
      this._goOffline();
      return;
    }
    this._setState(this.attempt === 0 ? "connecting" : "reconnecting", {
      attempt: this.attempt,
      dialing: true,
    });
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch (error) {
      this._scheduleReconnect(`Could not open a WebSocket: ${error.message}`);
      return;
    }
    this.socket = socket;
    this.timers.connect = setTimeout(() => {
      this._failed("The server did not accept the WebSocket in time.");
    }, this.opts.connectTimeoutMs);

    socket.onopen = () => {
      clearTimeout(this.timers.connect);
      this.lastMessageAt = Date.now();
      // Ask the server to speak at once: its first answer is what makes us "live".
      if (this.symbols.size) this.send({ action: "subscribe", symbols: [...this.symbols] });
      this.send({ action: "ping" });
      this.timers.ping = setInterval(() => this.send({ action: "ping" }), this.opts.pingIntervalMs);
      this.timers.watchdog = setInterval(() => {
        if (Date.now() - this.lastMessageAt > this.opts.silenceLimitMs) {
          this._failed("The server stopped answering on the WebSocket.");
        }
      }, 1000);
    };

    socket.onmessage = (event) => {
      this.lastMessageAt = Date.now();
      if (this.state !== "live") {
        this._setState("live");
        this.timers.stable = setTimeout(() => {
          this.attempt = 0;
        }, this.opts.stableAfterMs);
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not ours: ignore rather than break the feed
      }
      this.onMessage(message);
    };

    socket.onclose = (event) => {
      const why = event.code === 1000 ? "The server closed the WebSocket." : "The WebSocket dropped.";
      this._failed(`${why} (code ${event.code})`);
    };
    // onerror is always followed by onclose; reconnecting is handled there.
    socket.onerror = () => {};
  }

  _failed(reason) {
    if (!this.running) return;
    this._clearTimers();
    this._dropSocket(4000, "reconnecting");
    this._scheduleReconnect(reason);
  }

  _scheduleReconnect(reason) {
    if (!this.running) return;
    const ceiling = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** this.attempt);
    // Full jitter: anywhere between a short floor and the ceiling.
    const delay = Math.max(250, Math.random() * ceiling);
    this.attempt += 1;
    this._setState("reconnecting", { attempt: this.attempt, retryInMs: delay, reason });
    this.timers.reconnect = setTimeout(() => this._connect(), delay);
  }
}
