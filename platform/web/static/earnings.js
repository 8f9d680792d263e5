// Earnings: the ledger's totals (earned, captured, pending, missed) and the events behind them.
"use strict";

Rocker.page(async () => {
  const { h, rpc, money, when } = Rocker;
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

  const [summary, events] = await Promise.all([rpc("earnings_summary"), rpc("earnings_list", { p_limit: 50 })]);
  $("earnings-total").textContent = money(summary.total_cents);
  $("earnings-captured").textContent = money(summary.captured_cents);
  $("earnings-pending").textContent = money(summary.pending_cents);
  $("earnings-missed").textContent = money(summary.missed_cents);
  $("earnings-totals").dataset.tier = summary.tier || "";

  $("earnings-events").replaceChildren(...events.map((e) => h("tr", {
    testid: "earnings-event", dataset: { id: e.id, kind: e.kind, orderId: e.order_id || "" },
  },
    h("td", {}, when(e.created_at)), h("td", {}, e.kind), h("td", {}, money(e.amount_cents)),
    h("td", {}, money(e.captured_cents)), h("td", {}, e.order_id ? e.order_id.slice(0, 8) : ""),
  )));
  $("earnings-empty").hidden = events.length > 0;
});
