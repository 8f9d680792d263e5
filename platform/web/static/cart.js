// The cart and checkout. With payments off (flag payments_real = false) checkout completes at once.
"use strict";

Rocker.page(async () => {
  const { h, rpc, money } = Rocker;
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const rows = $("cart-items");
  const checkout = $("checkout");
  let count = 0;
  // One idempotency key per order attempt, kept until an order is placed: clicking again after a
  // failed or lost response cannot place the same order twice.
  let orderKey = Rocker.uid();

  async function load() {
    const items = await rpc("cart_list");
    rows.replaceChildren(...items.map((item) => {
      const remove = h("button", { type: "button", class: "link", testid: "cart-remove" }, "Remove");
      remove.addEventListener("click", () => Rocker.guarded(remove, async () => {
        await rpc("cart_remove", { p_listing_id: item.listing_id });
        await load();
      }));
      // A listing taken off sale since it was carted stays listed (checkout refuses it) until removed.
      const title = item.available ? h("a", { href: `/listing/${item.listing_id}` }, item.title) : "No longer available";
      return h("tr", { testid: "cart-item", dataset: { listingId: item.listing_id, available: String(item.available) } },
        h("td", {}, title),
        h("td", {}, item.quantity),
        h("td", {}, item.available ? money(item.line_total_cents, item.currency) : ""),
        h("td", {}, remove));
    }));
    const total = items.reduce((sum, item) => sum + (item.available ? Number(item.line_total_cents) : 0), 0);
    $("cart-total").textContent = money(total, (items[0] && items[0].currency) || "USD");
    $("cart-empty").hidden = items.length > 0;
    count = items.length;
    checkout.disabled = count === 0;
  }

  checkout.addEventListener("click", async () => {
    await Rocker.guarded(checkout, placeOrder);
    checkout.disabled = count === 0; // guarded re-enables the button; an empty cart cannot check out
  });

  async function placeOrder() {
    const order = await rpc("checkout", { p_idempotency_key: orderKey });
    orderKey = Rocker.uid();
    const box = $("order-confirmation");
    box.dataset.orderId = order.order_id;
    $("order-id").textContent = order.order_id;
    $("order-status").textContent = order.status;
    box.hidden = false;
    await load();
  }

  await load();
});
