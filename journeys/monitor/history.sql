-- The monitor's history (SQLite). Parsed by gauntlet.platform.queries.parse_queries;
-- placeholders are sqlite3's named style (:name), listed in each query's params line.
-- Times are epoch seconds (REAL).

-- name: schema
-- Every table and index (idempotent; run as a script when the file is opened).
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY,
    started_at    REAL NOT NULL,
    finished_at   REAL NOT NULL,
    target        TEXT NOT NULL,
    colour        TEXT NOT NULL CHECK (colour IN ('green', 'yellow', 'red')),
    ok            INTEGER NOT NULL CHECK (ok IN (0, 1)),
    skipped_slots INTEGER NOT NULL DEFAULT 0,
    notes         TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_started_at ON runs (started_at);

CREATE TABLE IF NOT EXISTS journey_attempts (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    journey        TEXT NOT NULL,
    attempt        INTEGER NOT NULL CHECK (attempt >= 1),
    final          INTEGER NOT NULL CHECK (final IN (0, 1)),
    ok             INTEGER NOT NULL CHECK (ok IN (0, 1)),
    verdict        TEXT CHECK (verdict IN ('pass', 'degraded', 'fail')),
    started_at     REAL NOT NULL,
    duration_ms    REAL NOT NULL,
    error          TEXT,
    console_errors TEXT NOT NULL DEFAULT '[]',
    artifacts_dir  TEXT,
    UNIQUE (run_id, journey, attempt)
);
CREATE INDEX IF NOT EXISTS journey_attempts_journey_time ON journey_attempts (journey, started_at);
CREATE INDEX IF NOT EXISTS journey_attempts_failed ON journey_attempts (started_at) WHERE ok = 0;
CREATE INDEX IF NOT EXISTS journey_attempts_final ON journey_attempts (started_at) WHERE final = 1;

CREATE TABLE IF NOT EXISTS steps (
    id          INTEGER PRIMARY KEY,
    attempt_id  INTEGER NOT NULL REFERENCES journey_attempts (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    duration_ms REAL NOT NULL,
    budget_ms   REAL,
    error       TEXT,
    screenshot  TEXT,
    trace       TEXT,
    skipped     INTEGER NOT NULL DEFAULT 0 CHECK (skipped IN (0, 1))
);
CREATE INDEX IF NOT EXISTS steps_attempt ON steps (attempt_id);

CREATE TABLE IF NOT EXISTS probes (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('ok', 'degraded', 'down')),
    detail      TEXT NOT NULL DEFAULT '',
    duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS probes_run ON probes (run_id);

CREATE TABLE IF NOT EXISTS check_states (
    check_name        TEXT PRIMARY KEY,
    colour            TEXT NOT NULL CHECK (colour IN ('green', 'yellow', 'red')),
    failing_streak    INTEGER NOT NULL,
    red               INTEGER NOT NULL CHECK (red IN (0, 1)),
    red_alerted       INTEGER NOT NULL CHECK (red_alerted IN (0, 1)),
    last_red_alert_at REAL,
    since             REAL,
    reasons           TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE IF NOT EXISTS alerts (
    id         INTEGER PRIMARY KEY,
    sent_at    REAL NOT NULL,
    check_name TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('red', 'recovered')),
    delivered  INTEGER NOT NULL CHECK (delivered IN (0, 1)),
    error      TEXT
);
CREATE INDEX IF NOT EXISTS alerts_sent_at ON alerts (sent_at);

-- name: insert_run
-- Record one monitor run; returns its id.
-- params: :started_at, :finished_at, :target, :colour, :ok, :skipped_slots, :notes
INSERT INTO runs (started_at, finished_at, target, colour, ok, skipped_slots, notes)
VALUES (:started_at, :finished_at, :target, :colour, :ok, :skipped_slots, :notes)
RETURNING id;

-- name: insert_attempt
-- One journey attempt of a run; returns its id. verdict is set on the final attempt only.
-- params: :run_id, :journey, :attempt, :final, :ok, :verdict, :started_at, :duration_ms, :error, :console_errors, :artifacts_dir
INSERT INTO journey_attempts (run_id, journey, attempt, final, ok, verdict, started_at, duration_ms, error,
                              console_errors, artifacts_dir)
VALUES (:run_id, :journey, :attempt, :final, :ok, :verdict, :started_at, :duration_ms, :error,
        :console_errors, :artifacts_dir)
RETURNING id;

-- name: insert_step
-- One step of an attempt.
-- params: :attempt_id, :position, :name, :ok, :duration_ms, :budget_ms, :error, :screenshot, :trace, :skipped
INSERT INTO steps (attempt_id, position, name, ok, duration_ms, budget_ms, error, screenshot, trace, skipped)
VALUES (:attempt_id, :position, :name, :ok, :duration_ms, :budget_ms, :error, :screenshot, :trace, :skipped);

-- name: insert_probe
-- One health probe of a run.
-- params: :run_id, :name, :status, :detail, :duration_ms
INSERT INTO probes (run_id, name, status, detail, duration_ms)
VALUES (:run_id, :name, :status, :detail, :duration_ms);

-- name: upsert_check_state
-- Save a check's incident state (read back by the next run, even in another process).
-- params: :check_name, :colour, :failing_streak, :red, :red_alerted, :last_red_alert_at, :since, :reasons
INSERT INTO check_states (check_name, colour, failing_streak, red, red_alerted, last_red_alert_at, since, reasons)
VALUES (:check_name, :colour, :failing_streak, :red, :red_alerted, :last_red_alert_at, :since, :reasons)
ON CONFLICT (check_name) DO UPDATE SET
    colour = excluded.colour,
    failing_streak = excluded.failing_streak,
    red = excluded.red,
    red_alerted = excluded.red_alerted,
    last_red_alert_at = excluded.last_red_alert_at,
    since = excluded.since,
    reasons = excluded.reasons;

-- name: delete_other_check_states
-- Forget checks this monitor no longer runs (a journey dropped from --journeys must not stay red).
-- params: :names (a JSON array of the current check names)
DELETE FROM check_states WHERE check_name NOT IN (SELECT value FROM json_each(:names));

-- name: check_states
-- Every check's saved state.
-- params: none
SELECT check_name, colour, failing_streak, red, red_alerted, last_red_alert_at, since, reasons
FROM check_states
ORDER BY check_name;

-- name: insert_alert
-- An alert the monitor tried to send, and whether the webhook took it.
-- params: :sent_at, :check_name, :kind, :delivered, :error
INSERT INTO alerts (sent_at, check_name, kind, delivered, error)
VALUES (:sent_at, :check_name, :kind, :delivered, :error);

-- name: alerts_since
-- Alerts tried since a time, oldest first.
-- params: :since
SELECT sent_at, check_name, kind, delivered, error
FROM alerts
WHERE sent_at > :since
ORDER BY sent_at, id;

-- name: journey_samples
-- Each run's final attempt per journey since a time: what uptime and duration p95 count.
-- params: :since
SELECT journey, started_at, duration_ms, verdict
FROM journey_attempts
WHERE final = 1 AND started_at > :since
ORDER BY started_at;

-- name: step_p95
-- p95 of passing steps' durations (final attempts) per journey and step over one window, computed
-- here so a week of steps never crosses into Python. Gauntlet's one percentile convention
-- (load/hdr.py percentile_rank): rank = 0.95 n rounded half up, in integer arithmetic. Failed steps are left out: their time
-- is usually a timeout, and failures show in uptime.
-- params: :since, :now
SELECT journey, step, duration_ms
FROM (
    SELECT a.journey, s.name AS step, s.duration_ms,
           row_number() OVER per_step AS rank,
           count(*) OVER per_step AS n
    FROM journey_attempts a
    JOIN steps s ON s.attempt_id = a.id
    WHERE a.final = 1 AND a.started_at > :since AND a.started_at <= :now AND s.ok = 1
    WINDOW per_step AS (
        PARTITION BY a.journey, s.name ORDER BY s.duration_ms
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
)
WHERE rank = (95 * n + 50) / 100
ORDER BY journey, step;

-- name: last_attempt_steps
-- The steps of each journey's most recent final attempt.
-- params: none
SELECT a.journey, s.name, s.ok, s.duration_ms, s.budget_ms, s.error, s.screenshot, s.trace, s.skipped
FROM steps s
JOIN journey_attempts a ON a.id = s.attempt_id
WHERE a.id IN (SELECT max(id) FROM journey_attempts WHERE final = 1 GROUP BY journey)
ORDER BY a.journey, s.position;

-- name: recent_failures
-- The latest failed attempts with the failing step's evidence; rescued = a later attempt of
-- the same journey in the same run passed.
-- params: :limit
SELECT a.run_id, a.started_at, a.journey, a.attempt,
       EXISTS (SELECT 1 FROM journey_attempts b
               WHERE b.run_id = a.run_id AND b.journey = a.journey AND b.attempt > a.attempt AND b.ok = 1) AS rescued,
       a.error,
       s.name AS step, s.error AS step_error, s.screenshot, s.trace
FROM journey_attempts a
LEFT JOIN steps s ON s.id = (SELECT min(f.id) FROM steps f WHERE f.attempt_id = a.id AND f.ok = 0 AND f.skipped = 0)
WHERE a.ok = 0
ORDER BY a.started_at DESC, a.id DESC
LIMIT :limit;

-- name: run_oks
-- Each run's start and whether it was up, since a time (overall uptime).
-- params: :since
SELECT started_at, ok
FROM runs
WHERE started_at > :since
ORDER BY started_at;

-- name: last_probes
-- The probes of the most recent run that probed anything.
-- params: none
SELECT name, status, detail, duration_ms
FROM probes
WHERE run_id = (SELECT max(run_id) FROM probes)
ORDER BY id;

-- name: expired_runs
-- Runs that started before the retention horizon (their artifacts are deleted with them).
-- params: :before
SELECT id FROM runs WHERE started_at < :before ORDER BY id;

-- name: delete_runs_before
-- Drop runs before the horizon; attempts, steps and probes go with them (ON DELETE CASCADE).
-- params: :before
DELETE FROM runs WHERE started_at < :before;

-- name: delete_alerts_before
-- Drop the alert log before the horizon.
-- params: :before
DELETE FROM alerts WHERE sent_at < :before;

-- name: last_target
-- The target of the latest run (for the served page's heading).
-- params: none
SELECT target FROM runs ORDER BY id DESC LIMIT 1;

-- name: run_count
-- How many runs history holds.
-- params: none
SELECT count(*) FROM runs;
