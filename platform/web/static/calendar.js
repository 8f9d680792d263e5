// Calendar: upcoming events (next 30 days) of the pages the user follows, or all of them.
"use strict";

Rocker.page(async ({ scope }) => {
  const { h, rpc, when } = Rocker;
  const list = document.querySelector('[data-testid="calendar"]');
  const empty = document.querySelector('[data-testid="calendar-empty"]');
  const tab = document.querySelector(`[data-testid="calendar-scope-${scope}"]`);
  if (tab) tab.setAttribute("aria-current", "page");

  const events = await rpc("calendar_events", { p_scope: scope, p_limit: 100 });
  list.replaceChildren(...events.map((event) => h("li", { class: "card item", testid: "event-item", dataset: { id: event.id } },
    h("span", { class: "kind" }, when(event.starts_at)),
    h("strong", { testid: "event-title" }, event.title),
    event.host_name ? h("a", { href: `/profile/${event.host_entity_id}`, testid: "event-host" }, event.host_name) : null,
    event.location ? h("span", { class: "muted" }, event.location) : null,
  )));
  empty.hidden = events.length > 0;
});
