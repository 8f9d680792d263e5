// Realtime for the pages: one Phoenix channel (serializer 1.0.0) on /realtime/v1/websocket with
// `postgres_changes` bindings, the frames supabase-js's RealtimeClient sends (phx_join with the
// config and the access token, heartbeat every 25 s, access_token when the token is renewed,
// phx_leave). Plain script (no modules, no build step): it defines one global, `RockerRealtime`.
"use strict";

const RockerRealtime = (() => {
  const VSN = "1.0.0";
  const HEARTBEAT_MS = 25000;
  const BACKOFF_MS = [1000, 2000, 5000, 10000];
  const CROWDED_MS = 30000; // too many sockets for this user (other tabs): wait longer

  // subscribe({topic, bindings, token, onChange, onSystem, onState}) -> {setToken, close}
  //   token():    the access token to join with (called on every (re)join; rejecting stops the channel)
  //   onChange:   a postgres_changes payload's `data` (record, old_record, type, ...)
  //   onSystem:   a system message with status ok (e.g. "Subscribed to PostgreSQL")
  //   onState:    "joined" | "down" (socket lost, join refused or channel closed; it retries)
  function subscribe({ topic, bindings, token, onChange, onSystem, onState }) {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/realtime/v1/websocket?vsn=${VSN}`;
    let ws = null;
    let ref = 0;
    let joinRef = null;
    let heartbeat = null;
    let retry = null;
    let attempts = 0;
    let closed = false;

    const send = (event, payload, on = topic) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) return null;
      ref += 1;
      const mine = String(ref);
      ws.send(JSON.stringify({ topic: on, event, payload, ref: mine, join_ref: on === topic ? joinRef : null }));
      return mine;
    };

    const down = (waitMs) => {
      joinRef = null;
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      if (ws) {
        ws.onclose = null;
        ws.close();
        ws = null;
      }
      if (closed) return;
      onState("down");
      const delay = waitMs || BACKOFF_MS[Math.min(attempts, BACKOFF_MS.length - 1)];
      attempts += 1;
      retry = setTimeout(connect, delay);
    };

    const join = async () => {
      const accessToken = await token();
      if (closed || !ws) return;
      const config = { broadcast: { ack: false, self: false }, presence: { key: "" }, postgres_changes: bindings, private: false };
      joinRef = send("phx_join", { config, access_token: accessToken });
    };

    const receive = (message) => {
      if (message.topic !== topic) return;
      const { event, payload } = message;
      if (event === "phx_reply" && message.ref === joinRef) {
        if (payload.status === "ok") {
          attempts = 0;
          onState("joined");
        } else {
          const reason = (payload.response && payload.response.reason) || "";
          down(reason.startsWith("ConnectionRateLimitReached") ? CROWDED_MS : 0);
        }
      } else if (event === "postgres_changes") {
        onChange(payload.data);
      } else if (event === "system") {
        if (payload.status === "ok") onSystem(payload);
        else down(0); // e.g. the token expired or its session ended: rejoin with a fresh one
      } else if (event === "phx_close" || event === "phx_error") {
        down(0);
      }
    };

    function connect() {
      retry = null;
      if (closed) return;
      ws = new WebSocket(url);
      ws.onopen = () => {
        heartbeat = setInterval(() => send("heartbeat", {}, "phoenix"), HEARTBEAT_MS);
        join().catch(() => {
          // No token to join with (signed out): stop; the page's next request sends the user to /login.
          closed = true;
          down(0);
          onState("down");
        });
      };
      ws.onmessage = (event) => {
        try {
          receive(JSON.parse(event.data));
        } catch (_) {
          // not a frame of ours: ignore it
        }
      };
      ws.onclose = () => down(0);
    }

    connect();
    return {
      setToken(accessToken) {
        if (joinRef) send("access_token", { access_token: accessToken });
      },
      close() {
        closed = true;
        if (retry) clearTimeout(retry);
        if (joinRef) send("phx_leave", {});
        down(0);
      },
    };
  }

  return { subscribe };
})();
