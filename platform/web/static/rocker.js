// The pages' shared client: the session in localStorage, RPC calls with the user's JWT,
// visible errors, the live notifications bell, and the page bootstrap.
// Plain script (no modules, no build step): it defines one global, `Rocker`.
"use strict";

const Rocker = (() => {
  const config = JSON.parse(document.getElementById("rocker-config").textContent);
  const SESSION_KEY = "rocker.session";

  class RockerError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function session() {
    try {
      return JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    } catch (_) {
      return null;
    }
  }

  function saveSession(body) {
    const value = {
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      expires_at: body.expires_at,
      user: { id: body.user.id, email: body.user.email },
    };
    localStorage.setItem(SESSION_KEY, JSON.stringify(value));
    return value;
  }

  function clearSession() {
    localStorage.removeItem(SESSION_KEY);
  }

  async function request(path, { method = "GET", body, token } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new RockerError(0, "network_error", `The platform is unreachable (${err.message})`);
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = { message: text.slice(0, 200) };
      }
    }
    if (!response.ok) {
      const message = (data && (data.message || data.msg)) || `HTTP ${response.status}`;
      throw new RockerError(response.status, (data && data.code) || `http_${response.status}`, message);
    }
    return data;
  }

  // One refresh at a time: concurrent 401s share it instead of racing for the refresh token.
  let refreshing = null;
  function refreshSession() {
    const current = session();
    if (!current || !current.refresh_token) return Promise.reject(new RockerError(401, "not_signed_in", "Please log in"));
    refreshing = refreshing || request("/auth/v1/token?grant_type=refresh_token", {
      method: "POST",
      body: { refresh_token: current.refresh_token },
    }).then(saveSession).finally(() => { refreshing = null; });
    return refreshing;
  }

  async function api(path, options = {}) {
    const current = session();
    try {
      return await request(path, { ...options, token: current && current.access_token });
    } catch (err) {
      if (err.status !== 401 || !current) throw err;
      try {
        await refreshSession();
      } catch (_) {
        toLogin();
        throw err;
      }
      return request(path, { ...options, token: session().access_token });
    }
  }

  function rpc(fn, args = {}) {
    return api(`/rest/v1/rpc/${encodeURIComponent(fn)}`, { method: "POST", body: args });
  }

  function errorBox() {
    return document.querySelector('[data-testid="error"]');
  }

  function showError(err) {
    const box = errorBox();
    const message = err instanceof Error ? err.message : String(err);
    box.textContent = message;
    box.dataset.code = (err && err.code) || "";
    box.hidden = false;
    // Also on the console: journeys record the console errors of a failed step.
    console.error(`[rocker] ${config.page}: ${message}`);
  }

  function clearError() {
    const box = errorBox();
    box.textContent = "";
    box.hidden = true;
  }

  // Run an action behind a button: errors are shown, never swallowed, and the button is busy meanwhile.
  async function guarded(button, action) {
    if (button) button.disabled = true;
    clearError();
    try {
      return await action();
    } catch (err) {
      showError(err);
      return undefined;
    } finally {
      if (button) button.disabled = false;
    }
  }

  function toLogin() {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/login?next=${next}`);
  }

  // A tiny element builder: h("a", {href: "/x", dataset: {testid: "y"}}, "text", child).
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "testid") node.dataset.testid = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function money(cents, currency = "USD") {
    if (cents === null || cents === undefined) return "";
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(Number(cents) / 100);
  }

  // A random id (crypto.randomUUID needs a secure context; a plain-http staging page is not one).
  function uid() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  // The bell: the unread count streams from the server (server-sent events), so the badge
  // changes without a reload whenever a notification arrives or is read.
  function startBell() {
    const badge = document.querySelector('[data-testid="bell-badge"]');
    if (!badge || typeof EventSource === "undefined") return;
    let source = null;
    let retryMs = 1000;
    let leaving = false;
    window.addEventListener("pagehide", () => {
      leaving = true; // a stream torn down by navigation is not an error to react to
      if (source) source.close();
    });
    const connect = async () => {
      let current = session();
      if (leaving || !current) return;
      if (current.expires_at && current.expires_at * 1000 < Date.now() + 30000) {
        try {
          current = await refreshSession();
        } catch (_) {
          return; // signed out: the next RPC of the page sends the user to /login
        }
      }
      source = new EventSource(`/realtime/v1/notifications?access_token=${encodeURIComponent(current.access_token)}`);
      source.addEventListener("unread", (event) => {
        const { unread } = JSON.parse(event.data);
        badge.dataset.count = String(unread);
        badge.textContent = unread > 99 ? "99+" : String(unread);
        badge.hidden = unread === 0;
        badge.dataset.live = "1";
        retryMs = 1000;
      });
      source.addEventListener("evicted", () => {
        // Too many live streams for this user (other tabs): a newer one took this one's place.
        source.close();
        badge.dataset.live = "0";
        setTimeout(connect, 30000);
      });
      source.addEventListener("error", () => {
        if (leaving) return;
        badge.dataset.live = "0";
        // A dropped stream is reconnected by the browser itself; CLOSED means the server refused it
        // (an expired token, the API down): try again later, with a fresh token if it has expired.
        if (source.readyState === EventSource.CLOSED) {
          setTimeout(connect, retryMs);
          retryMs = Math.min(retryMs * 2, 30000);
        }
      });
    };
    connect();
  }

  async function profile() {
    return rpc("get_my_profile");
  }

  // Bootstrap a page: signed-in pages need a session (else /login; logging in sends a user who has
  // not finished onboarding there first); `body[data-ready="1"]` tells journeys the first render is done.
  function page(main) {
    const run = async () => {
      if (config.signedIn) {
        if (!session()) {
          toLogin();
          return;
        }
        const logout = document.querySelector('[data-testid="nav-logout"]');
        if (logout) logout.addEventListener("click", () => { clearSession(); location.assign("/login"); });
        startBell();
      }
      try {
        await main(config.params || {});
      } catch (err) {
        showError(err);
      } finally {
        document.body.dataset.ready = "1";
      }
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
    else run();
  }

  return {
    config, faults: config.faults || {}, RockerError,
    session, saveSession, clearSession, request, api, rpc,
    showError, clearError, guarded, toLogin, h, money, when, uid, profile, page,
  };
})();
