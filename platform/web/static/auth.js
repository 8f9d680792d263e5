// Sign up and log in: GoTrue-shaped calls; the session is kept for the other pages' RPCs.
"use strict";

Rocker.page(async () => {
  const isSignup = Rocker.config.page === "signup";
  const form = document.querySelector(`[data-testid="${isSignup ? "signup" : "login"}-form"]`);

  // Where to go next: a new account onboards first; a returning one goes back where it was sent from.
  async function destination() {
    const profile = await Rocker.profile();
    if (!profile.onboarding_complete) return "/onboarding";
    // Only what the server's safe-redirect rule let through (web/routes.py safe_next: a same-origin
    // path, no backslash or control characters); never ?next= itself. Checked once more here.
    const next = Rocker.config.params.next;
    const fallback = "/home?lane=for_you";
    if (typeof next !== "string" || !next.startsWith("/")) return fallback;
    return new URL(next, location.origin).origin === location.origin ? next : fallback;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const submit = form.querySelector('button[type="submit"]');
    Rocker.guarded(submit, async () => {
      const email = form.elements.email.value.trim();
      const password = form.elements.password.value;
      const path = isSignup ? "/auth/v1/signup" : "/auth/v1/token?grant_type=password";
      const body = await Rocker.request(path, { method: "POST", body: { email, password } });
      Rocker.saveSession(body);
      location.assign(isSignup ? "/onboarding" : await destination());
    });
  });
});
