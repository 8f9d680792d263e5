// The pages' shared client: the session in localStorage, RPC calls with the user's JWT,
// visible errors, the live notifications bell (realtime.js), and the page bootstrap.
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

  // `raw`: resolve to {data, response} (a caller that reads headers, e.g. Content-Range).
  async function request(path, { method = "GET", body, token, headers: extra, raw = false } = {}) {
    const headers = { Accept: "application/json", ...extra };
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
    return raw ? { data, response } : data;
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

  // How many rows of a table the user may see match `query` (PostgREST: HEAD with count=exact,
  // as supabase-js's select("id", {count: "exact", head: true})).
  async function count(relation, query) {
    const { response } = await api(`/rest/v1/${relation}?${query}`, {
      method: "HEAD", headers: { Prefer: "count=exact" }, raw: true,
    });
    const range = response.headers.get("Content-Range") || "";
    const total = Number(range.split("/")[1]);
    if (!Number.isInteger(total)) throw new RockerError(0, "bad_count", `No row count in Content-Range '${range}'`);
    return total;
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

  // The bell: a realtime channel on the user's notifications (postgres_changes, as supabase-js
  // subscribes) re-reads the unread count on every change, so the badge moves without a reload
  // whenever a notification arrives or is read. It also re-reads when the channel is (re)joined
  // and when the server says its change feed listens again (changes it could not hear).
  function startBell() {
    const badge = document.querySelector('[data-testid="bell-badge"]');
    const current = session();
    if (!badge || !current || typeof WebSocket === "undefined" || typeof RockerRealtime === "undefined") return;
    // Fault switch (tests only): the badge keeps its first count, changes are ignored.
    const frozen = Boolean(config.faults && config.faults.no_live_badge);
    let reading = null;
    let again = false;
    let renew = null;

    const show = (unread) => {
      badge.dataset.count = String(unread);
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.hidden = unread === 0;
      badge.dataset.live = "1";
    };
    // One read at a time; changes arriving meanwhile cost one more read, not one each.
    const reread = () => {
      if (reading) {
        again = true;
        return;
      }
      reading = (async () => {
        do {
          again = false;
          show(await count("notifications", "select=id&read_at=is.null"));
        } while (again);
      })().catch(() => { badge.dataset.live = "0"; }).finally(() => { reading = null; });
    };
    // A token good for at least a minute (refreshed first when it is not), for joining.
    const freshToken = async () => {
      let now = session();
      if (!now) throw new RockerError(401, "not_signed_in", "Please log in");
      if (now.expires_at && now.expires_at * 1000 < Date.now() + 60000) now = await refreshSession();
      return now.access_token;
    };

    const channel = RockerRealtime.subscribe({
      topic: "realtime:bell",
      bindings: [{ event: "*", schema: "public", table: "notifications", filter: `user_id=eq.${current.user.id}` }],
      token: freshToken,
      onChange: () => { if (!frozen) reread(); },
      onSystem: () => { if (!frozen) reread(); },
      onState: (state) => {
        if (state === "joined") reread();
        else badge.dataset.live = "0";
      },
    });
    // Hand the channel a renewed token before the old one expires (supabase-js does on refresh).
    const scheduleRenew = () => {
      const now = session();
      if (!now || !now.expires_at) return;
      const inMs = Math.max(5000, now.expires_at * 1000 - Date.now() - 60000);
      renew = setTimeout(async () => {
        try {
          channel.setToken(await freshToken());
        } catch (_) {
          return; // signed out: the next RPC of the page sends the user to /login
        }
        scheduleRenew();
      }, inMs);
    };
    scheduleRenew();
    window.addEventListener("pagehide", () => {
      if (renew) clearTimeout(renew);
      channel.close(); // a socket torn down by navigation is not an error to react to
    });
  }

  // Log out as supabase-js's signOut() does: end the session on the server (its tokens stop
  // working everywhere), then forget it here, whatever the server said.
  async function logout() {
    const current = session();
    if (current) {
      try {
        await request("/auth/v1/logout?scope=local", { method: "POST", token: current.access_token });
      } catch (_) {
        // already ended or unreachable: forgetting it locally is what matters to this browser
      }
    }
    clearSession();
    location.assign("/login");
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
        const logoutButton = document.querySelector('[data-testid="nav-logout"]');
        if (logoutButton) logoutButton.addEventListener("click", () => logout());
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
    session, saveSession, clearSession, request, api, rpc, count,
    showError, clearError, guarded, toLogin, h, money, when, uid, profile, page,
  };
})();
