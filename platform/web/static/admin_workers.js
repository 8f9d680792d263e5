// Admin workers: jobs per kind and status, the dead letter queue, and retrying a dead letter.
"use strict";

Rocker.page(async () => {
  const { h, rpc, when } = Rocker;
  const jobs = document.querySelector('[data-testid="worker-jobs-rows"]');
  const dead = document.querySelector('[data-testid="dead-letter-rows"]');
  const empty = document.querySelector('[data-testid="dead-letters-empty"]');

  async function load() {
    const [overview, letters] = await Promise.all([
      rpc("worker_jobs_overview"),
      rpc("worker_dead_letters", { p_limit: 100 }),
    ]);
    jobs.replaceChildren(...overview.map((row) => h("tr", { testid: "worker-job-row", dataset: { kind: row.kind, status: row.status } },
      h("td", {}, row.kind), h("td", {}, row.status), h("td", {}, row.ct),
      h("td", {}, when(row.oldest_run_at)), h("td", {}, when(row.last_activity)),
    )));
    dead.replaceChildren(...letters.map((row) => {
      const retry = h("button", { type: "button", class: "secondary", testid: "dead-letter-retry" }, "Retry");
      retry.addEventListener("click", () => Rocker.guarded(retry, async () => {
        await rpc("worker_retry_dead_letter", { p_dead_letter_id: row.id });
        await load();
      }));
      return h("tr", { testid: "dead-letter-row", dataset: { id: row.id, jobId: row.job_id ?? "" } },
        h("td", {}, row.id), h("td", {}, row.kind), h("td", {}, row.attempts),
        h("td", {}, row.reason), h("td", {}, when(row.failed_at)), h("td", {}, retry));
    }));
    empty.hidden = letters.length > 0;
  }

  await load();
});
