// Discover: marketplace suggestions for the user (hybrid: interests, similar, popular), and interest search.
"use strict";

Rocker.page(async () => {
  const { h, rpc, money } = Rocker;
  const grid = document.querySelector('[data-testid="suggestions"]');
  const empty = document.querySelector('[data-testid="suggestions-empty"]');
  const form = document.querySelector('[data-testid="interest-search-form"]');
  const results = document.querySelector('[data-testid="interest-results"]');
  const mine = new Set();

  async function loadSuggestions() {
    const rows = await rpc("marketplace_suggestions_for_user", { p_limit: 12 });
    grid.replaceChildren(...rows.map((row) => h("article", {
      class: "card item", testid: "suggestion-card", dataset: { id: row.candidate_id, source: row.source },
    },
      h("span", { class: "kind" }, row.source),
      h("a", { href: row.url, target: "_blank", rel: "noopener", testid: "suggestion-link" }, row.title),
      h("span", {}, money(row.price_cents)),
    )));
    empty.hidden = rows.length > 0;
  }

  async function search(query) {
    const rows = await rpc("interest_catalog_search", { p_query: query, p_limit: 20 });
    results.replaceChildren(...rows.map((interest) => {
      const chip = h("button", {
        type: "button", class: "chip", testid: "interest-result", dataset: { id: interest.id },
        "aria-pressed": String(mine.has(interest.id)),
      }, interest.name);
      chip.addEventListener("click", () => Rocker.guarded(chip, async () => {
        if (mine.has(interest.id)) {
          await rpc("user_interests_remove", { p_interest_id: interest.id });
          mine.delete(interest.id);
        } else {
          await rpc("user_interests_upsert", { p_interest_id: interest.id, p_affinity: 0.7, p_source: "discover" });
          mine.add(interest.id);
        }
        chip.setAttribute("aria-pressed", String(mine.has(interest.id)));
        await loadSuggestions();
      }));
      return chip;
    }));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    Rocker.guarded(form.querySelector("button"), () => search(form.elements.q.value.trim()));
  });

  const [interests] = await Promise.all([rpc("my_interests"), loadSuggestions()]);
  for (const row of interests) mine.add(row.interest_id);
});
