// The feeds: home (lanes for_you / following / shop) and a profile's entity feed, with infinite scroll.
// Pages come from feed_fusion_home / feed_fusion_profile with their opaque cursor. Items are shown
// exactly as the server sends them (no client-side dedup): a repeated item is the server's bug to see.
"use strict";

Rocker.page(async (params) => {
  const { h, rpc, money, when, faults } = Rocker;
  const feed = document.querySelector('[data-testid="feed"]');
  const empty = document.querySelector('[data-testid="feed-empty"]');
  const sentinel = document.querySelector('[data-testid="feed-sentinel"]');
  const more = document.querySelector('[data-testid="feed-more"]');
  const isProfile = Rocker.config.page === "profile";
  const PAGE_SIZE = 10;
  let cursor = null;
  let loading = null;
  let pages = 0;

  function actorLink(item) {
    const name = item.actor_name || item.actor_handle || "someone";
    return item.entity_id ? h("a", { href: `/profile/${item.entity_id}`, testid: "feed-item-actor" }, name) : h("span", {}, name);
  }

  function body(item) {
    if (item.kind === "listing") {
      return [
        h("a", { href: `/listing/${item.id}`, testid: "feed-item-open" }, h("strong", {}, item.title)),
        h("span", {}, money(item.price_cents, item.currency || "USD")),
      ];
    }
    if (item.kind === "event") {
      return [
        h("a", { href: "/calendar?scope=all", testid: "feed-item-open" }, h("strong", {}, item.title)),
        h("span", { class: "muted" }, [when(item.starts_at), item.location].filter(Boolean).join(" · ")),
      ];
    }
    return [
      h("p", { testid: "feed-item-open" }, item.body),
      item.media_url ? h("a", { href: item.media_url, rel: "noopener", target: "_blank" }, "media") : null,
    ];
  }

  function card(item) {
    const node = h("article", {
      class: "card item", testid: "feed-item", dataset: { id: item.id, kind: item.kind, position: item.position ?? "" },
    }, h("span", { class: "kind" }, item.kind, " · ", actorLink(item)), ...body(item));
    const hide = h("button", { type: "button", class: "link", testid: "feed-item-hide" }, "Hide");
    hide.addEventListener("click", () => Rocker.guarded(hide, async () => {
      await rpc("feed_hide", { p_item_kind: item.kind, p_item_id: item.id });
      node.remove();
    }));
    node.append(hide);
    return node;
  }

  async function fetchPage() {
    if (isProfile) return rpc("feed_fusion_profile", { p_entity_id: params.entity_id, p_cursor: cursor, p_limit: PAGE_SIZE });
    return rpc("feed_fusion_home", { p_lane: params.lane, p_cursor: cursor, p_limit: PAGE_SIZE });
  }

  // One page at a time: a scroll that fires twice must not fetch (or skip) a page twice.
  function loadMore() {
    if (loading) return loading;
    if (feed.dataset.end === "1") return Promise.resolve();
    loading = (async () => {
      feed.dataset.loading = "1";
      try {
        const page = await fetchPage();
        feed.append(...page.items.map(card));
        cursor = page.next_cursor;
        pages += 1;
        if (!page.has_more || !cursor) feed.dataset.end = "1";
        feed.dataset.pages = String(pages);
        empty.hidden = feed.children.length > 0;
        more.hidden = feed.dataset.end === "1";
      } finally {
        feed.dataset.loading = "0";
        loading = null;
      }
    })();
    return loading;
  }

  // Rocker's next best actions. The RPC records what it returns (a CTA is not repeated within 24 h),
  // so it is asked once per browser session and the answer kept, as 250 asks of a page.
  async function nextBestActions() {
    const key = `rocker.nba.${Rocker.session().user.id}`;
    let actions = JSON.parse(sessionStorage.getItem(key) || "null");
    if (!actions) {
      actions = await rpc("rocker_next_best_actions");
      sessionStorage.setItem(key, JSON.stringify(actions));
    }
    const box = document.querySelector('[data-testid="next-best-actions"]');
    box.querySelector('[data-testid="nba-list"]').replaceChildren(...actions.map((a) => h("li", {
      testid: "nba-item", dataset: { action: a.action },
    }, h("a", { href: a.href || "#" }, a.title), a.body ? h("span", { class: "muted" }, " ", a.body) : null)));
    box.hidden = actions.length === 0;
  }

  // Test-only fault (GAUNTLET_FAULT_WEB_NO_CART_SUPPRESSION): show the cart's listings in the feed again,
  // the way a stale client cache would. Journeys must catch it.
  async function brokenCartSuppression() {
    const cart = await rpc("cart_list");
    feed.prepend(...cart.map((row) => card({ ...row, kind: "listing", id: row.listing_id })));
  }

  if (isProfile) {
    const header = await rpc("entity_profile", { p_entity_id: params.entity_id });
    document.querySelector('[data-testid="profile-name"]').textContent = header.display_name;
    document.querySelector('[data-testid="profile-handle"]').textContent = `@${header.handle}`;
    const follow = document.querySelector('[data-testid="profile-follow"]');
    let following = header.following;
    const label = () => { follow.textContent = following ? "Following" : "Follow"; };
    label();
    follow.hidden = header.is_owner;
    follow.addEventListener("click", () => Rocker.guarded(follow, async () => {
      await rpc(following ? "entity_unfollow" : "entity_follow", { p_entity_id: params.entity_id });
      following = !following;
      label();
    }));
  } else {
    document.title = `${params.lane.replace("_", " ")} · Rocker`;
    await nextBestActions();
  }

  more.addEventListener("click", () => loadMore().catch(Rocker.showError));
  await loadMore();
  if (faults.no_cart_suppression && !isProfile) await brokenCartSuppression();
  // Infinite scroll: the sentinel under the last item coming into view loads the next page.
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore().catch(Rocker.showError);
  }, { rootMargin: "200px" }).observe(sentinel);
});
