// Notifications: the list, newest first, and "mark all read". The bell badge is not touched here:
// it follows the realtime channel, which hears the mark-read RPCs' row updates.
"use strict";

Rocker.page(async () => {
  const { h, rpc, when } = Rocker;
  const list = document.querySelector('[data-testid="notifications"]');
  const empty = document.querySelector('[data-testid="notifications-empty"]');
  const markAll = document.querySelector('[data-testid="mark-all-read"]');

  function item(n) {
    const node = h("li", { class: "card item", testid: "notification-item", dataset: { id: n.id, read: n.read_at ? "1" : "0" } },
      h("span", { class: "kind" }, `${n.kind} · ${when(n.created_at)}`),
      h("strong", { testid: "notification-title" }, n.title),
      n.body ? h("span", {}, n.body) : null,
    );
    if (!n.read_at) {
      const read = h("button", { type: "button", class: "link", testid: "notification-mark-read" }, "Mark read");
      read.addEventListener("click", () => Rocker.guarded(read, async () => {
        await rpc("notif_mark_read", { p_id: n.id });
        await load();
      }));
      node.append(read);
    }
    return node;
  }

  async function load() {
    const rows = await rpc("notif_list", { p_limit: 50 });
    list.replaceChildren(...rows.map(item));
    empty.hidden = rows.length > 0;
  }

  markAll.addEventListener("click", () => Rocker.guarded(markAll, async () => {
    await rpc("notif_mark_all_read");
    await load();
  }));
  await load();
});
