// Onboarding: a live handle check, a display name and source, >= 3 interests, then complete_onboarding.
"use strict";

Rocker.page(async () => {
  const { h, rpc } = Rocker;
  const form = document.querySelector('[data-testid="onboarding-form"]');
  const handleInput = form.elements.handle;
  const status = document.querySelector('[data-testid="handle-status"]');
  const count = document.querySelector('[data-testid="interest-count"]');
  const options = document.querySelector('[data-testid="interest-options"]');
  const finish = document.querySelector('[data-testid="onboarding-complete"]');
  const picked = new Set();
  let handleOk = false;

  const profile = await Rocker.profile();
  if (profile.onboarding_complete) {
    location.assign("/home?lane=for_you");
    return;
  }
  handleInput.value = profile.handle || "";
  form.elements.display_name.value = profile.display_name || "";

  function refreshFinish() {
    count.textContent = String(picked.size);
    finish.disabled = !(handleOk && picked.size >= 3);
  }

  // Each keystroke supersedes the previous check; only the latest answer is shown.
  let checkSeq = 0;
  async function checkHandle() {
    const seq = ++checkSeq;
    const handle = handleInput.value.trim();
    handleOk = false;
    status.dataset.available = "";
    refreshFinish();
    if (!/^[A-Za-z0-9_]{3,30}$/.test(handle)) {
      status.textContent = "3-30 letters, digits or underscores";
      status.dataset.available = "false";
      return;
    }
    status.textContent = "checking…";
    try {
      const available = await rpc("check_handle_available", { p_handle: handle });
      if (seq !== checkSeq) return;
      handleOk = available === true;
      status.textContent = handleOk ? `@${handle} is available` : `@${handle} is taken`;
      status.dataset.available = String(handleOk);
      refreshFinish();
    } catch (err) {
      if (seq === checkSeq) Rocker.showError(err);
    }
  }
  let debounce = null;
  handleInput.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(checkHandle, 150);
  });

  async function toggle(chip, interest) {
    await Rocker.guarded(null, async () => {
      if (picked.has(interest.id)) {
        await rpc("user_interests_remove", { p_interest_id: interest.id });
        picked.delete(interest.id);
      } else {
        await rpc("user_interests_upsert", { p_interest_id: interest.id, p_affinity: 0.8 });
        picked.add(interest.id);
      }
      chip.setAttribute("aria-pressed", String(picked.has(interest.id)));
      refreshFinish();
    });
  }

  const [mine, catalog] = await Promise.all([
    rpc("my_interests"),
    rpc("interest_catalog_browse", { p_domain: null, p_limit: 48 }),
  ]);
  for (const row of mine) picked.add(row.interest_id);
  for (const interest of catalog) {
    const chip = h("button", {
      type: "button", class: "chip", testid: "interest-option",
      dataset: { id: interest.id, slug: interest.slug }, "aria-pressed": String(picked.has(interest.id)),
    }, interest.name);
    chip.addEventListener("click", () => toggle(chip, interest));
    options.append(chip);
  }
  refreshFinish();
  if (handleInput.value) await checkHandle();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    Rocker.guarded(finish, async () => {
      await rpc("update_profile", {
        p_handle: handleInput.value.trim(),
        p_display_name: form.elements.display_name.value.trim() || null,
        p_acquisition_source: form.elements.source.value,
      });
      await rpc("complete_onboarding");
      location.assign("/home?lane=for_you");
    });
  });
});
