// A listing's page (detail, add to cart) and the new-listing form.
"use strict";

Rocker.page(async (params) => {
  const { rpc, money } = Rocker;
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

  if (Rocker.config.page === "listing_new") {
    const form = $("listing-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      Rocker.guarded($("listing-submit"), async () => {
        const price = Number(String(form.elements.price.value).replace(",", "."));
        if (!Number.isFinite(price) || price < 0) throw new Error("Price must be a number of dollars, e.g. 42.50");
        const listing = await rpc("listing_create", {
          p_title: form.elements.title.value.trim(),
          p_price_cents: Math.round(price * 100),
          p_description: form.elements.description.value.trim() || null,
        });
        location.assign(`/listing/${listing.id}`);
      });
    });
    return;
  }

  const listing = await rpc("listing_detail", { p_listing_id: params.listing_id });
  $("listing-title").textContent = listing.title;
  $("listing-price").textContent = money(listing.price_cents, listing.currency);
  $("listing-seller").textContent = listing.seller_name ? `by ${listing.seller_name}` : "";
  $("listing-description").textContent = listing.description || "";
  $("listing").hidden = false;
  const add = $("add-to-cart");
  const inCart = (yes) => {
    add.hidden = yes;
    $("listing-in-cart").hidden = !yes;
  };
  inCart(listing.in_cart);
  add.hidden = listing.in_cart || listing.is_mine || listing.status !== "active";
  add.addEventListener("click", () => Rocker.guarded(add, async () => {
    await rpc("cart_add", { p_listing_id: listing.id, p_quantity: 1 });
    inCart(true);
  }));
});
