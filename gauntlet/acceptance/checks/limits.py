"""Rate limits (DB and edge) and feature flags (seeds 000 "Rate Limiting", 003/004 Tasks 1-3).

- bump_rate(bucket, limit, window): a fixed window; N calls allowed, the N+1st refused, a new
  window (moved through SQL, no sleeping) allows again.
- check_rate_limit: a token bucket of capacity p_limit; N allowed, then refused with a
  retry_after; refilled as time passes (moved through SQL), and never above p_limit: a caller
  idle for many windows gets a burst of N, no more.
- Edge limits answer 429 with Retry-After: checked on the one edge bucket a check can empty
  within its budget, the per-account failed-login limit (20 wrong passwords; the gate stack's
  GAUNTLET_RATE_LIMIT_MULTIPLIER=50 scales every other bucket out of reach, and leaves this one
  alone: platform/ratelimit.py UNSCALED).
- flags_for fails open: whoever asks (anon, a user, an unknown user id), it answers every flag
  with its value, and a flag outside the caller's rollout reports its default
  {"enabled": false} rather than an error or nothing.
- flags_for's rollout: a flag at rollout_pct N is on for the users whose bucket (a hash of the
  flag's key and the user id, 0-99) is below N, and off for the others, exactly at the canary
  steps 0 % (nobody), 1 %, 5 % and 25 % too. The check finds, through SQL, flag keys that put its
  user at each boundary (bucket N: off, bucket N - 1: on) and creates those flags itself.
- gc_learning_events (what the GC worker runs daily) keeps 90 days of learning events: it deletes
  older ones and keeps a 10-day-old and an 89-day-old one (the check's own rows, aged through SQL).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from gauntlet.acceptance.registry import check, expect, fail
from gauntlet.acceptance.surface import As, Surface

SEEDS_DB = "000 Rate Limiting (bump_rate(bucket, limit, window_seconds) -> boolean); 003 Task 2 DB rate limits"
SEEDS_FLAGS = "003 Task 1 Feature flags: flags_for() RPC, fail-open defaults"
SEEDS_EDGE = "003/004 Task 3 Edge rate limits (auth profile); 000 Rate Limiting"
SEEDS_ROLLOUT = (
    f"002 Feature Flags: rollout progression 1% -> 5% -> 25% -> 100%; 000 Rollout Plan: Day 1 5%; {SEEDS_FLAGS}"
)
SEEDS_LEARNING_GC = (
    "000 Appendix: Clean old learning events (90+ days), SELECT gc_learning_events(); 001 cron gc-learning-events daily"
)
# Wrong passwords for one account before its limit must answer 429 (its capacity is 20; at multiplier 1
# the per-address-and-account `auth` bucket of 10 answers first).
MAX_WRONG_PASSWORDS = 25
# The rollout steps probed (0 % = nobody) as (bucket of the user, rollout_pct, on?): at each step N a
# user in bucket N is outside the rollout and, N > 0, a user in bucket N - 1 inside it.
ROLLOUT_CASES = (
    (0, 0, False),
    (0, 1, True),
    (1, 1, False),
    (4, 5, True),
    (5, 5, False),
    (24, 25, True),
    (25, 25, False),
)
# Key suffixes tried to put the check's user in a given bucket: each hits it with probability 1/100,
# so all of them miss with probability 0.99^5000 < 1e-21.
BUCKET_SEARCH = 5000
# flags_for reads (0.1 s apart) until the check's new flags show: the RPC may read a replica that lags.
FLAG_READS = 30
# Ages (days) of the learning events gc_learning_events() must keep and must delete.
LEARNING_KEPT_DAYS, LEARNING_GONE_DAYS = (10, 89), (91, 400)


@check(
    "limits.bump_rate_fixed_window",
    title="bump_rate with limit N allows N calls in a window, refuses the N+1st, and allows again in a new window",
    seeds=SEEDS_DB,
    needs=("dsn",),
)
async def bump_rate_fixed_window(t: Surface) -> None:
    bucket, limit = f"acc:{t.run_id}:bump", 3
    args = {"p_bucket": bucket, "p_limit": limit, "p_window_seconds": 600}
    async with t.db() as conn:
        try:
            first = [await t.rpc_ok("bump_rate", args, as_="service") for _ in range(limit + 1)]
            expect(
                first == [True] * limit + [False],
                f"bump_rate({bucket!r}, limit {limit}, 600 s) {limit + 1} times answered {first}; "
                f"expected {limit} x true then false",
            )
            # The window ends (moved through SQL, not waited for).
            await conn.execute(
                "update public.rate_limits set expires_at = clock_timestamp() - interval '1 second' where bucket = $1",
                bucket,
            )
            second = [await t.rpc_ok("bump_rate", args, as_="service") for _ in range(limit + 1)]
            expect(
                second == [True] * limit + [False],
                f"after the window ended, bump_rate answered {second}; expected a new window: "
                f"{limit} x true then false",
            )
        finally:
            await conn.execute("delete from public.rate_limits where bucket = $1", bucket)


@check(
    "limits.check_rate_limit_token_bucket",
    title="check_rate_limit with limit N allows N calls at once, refuses the next with a retry_after, "
    "allows again once the bucket refilled, and after a long idle time allows N calls again, no more",
    seeds=SEEDS_DB,
    needs=("dsn",),
)
async def check_rate_limit_token_bucket(t: Surface) -> None:
    scope, subject, limit = f"acc.{t.run_id}", f"subject-{uuid.uuid4()}", 4
    args = {"p_scope": scope, "p_subject": subject, "p_limit": limit, "p_window_seconds": 600}
    async with t.db() as conn:
        try:
            answers = [(await t.rpc_ok("check_rate_limit", args, as_="service"))[0] for _ in range(limit + 1)]
            allowed = [a["allowed"] for a in answers]
            expect(
                allowed == [True] * limit + [False],
                f"check_rate_limit(limit {limit} per 600 s) {limit + 1} times answered allowed = {allowed}; "
                f"expected {limit} x true then false",
            )
            retry = float(answers[-1]["retry_after_seconds"])
            expect(
                100 <= retry <= 150,
                f"the refused check_rate_limit call said retry_after_seconds = {retry}; expected about 150 s "
                f"(one token at {limit} per 600 s)",
            )
            # 600 s pass (moved through SQL): the bucket is full again.
            await conn.execute(
                "update public.rate_limit_counters set updated_at = updated_at - interval '600 seconds' "
                "where scope = $1 and subject = $2",
                scope,
                subject,
            )
            again = [(await t.rpc_ok("check_rate_limit", args, as_="service"))[0]["allowed"] for _ in range(limit)]
            expect(
                again == [True] * limit,
                f"after the bucket refilled, check_rate_limit answered {again}; expected {limit} x true",
            )
            # Idle for 10 windows (moved through SQL): the bucket holds p_limit tokens, not 10 x as many.
            await conn.execute(
                "update public.rate_limit_counters set updated_at = updated_at - interval '6000 seconds' "
                "where scope = $1 and subject = $2",
                scope,
                subject,
            )
            burst = [(await t.rpc_ok("check_rate_limit", args, as_="service"))[0] for _ in range(limit + 1)]
            expect(
                [a["allowed"] for a in burst] == [True] * limit + [False],
                f"after 6000 s idle (10 windows), check_rate_limit(limit {limit} per 600 s) {limit + 1} times "
                f"answered allowed = {[a['allowed'] for a in burst]} (remaining after the first: "
                f"{burst[0]['remaining']}); expected {limit} x true then false: the bucket's capacity is "
                f"{limit} tokens however long the caller was idle",
            )
        finally:
            await conn.execute(
                "delete from public.rate_limit_counters where scope = $1 and subject = $2", scope, subject
            )


@check(
    "limits.flags_for_fails_open",
    title="flags_for answers every flag to anon, a user and an unknown user id, and a flag outside the "
    "caller's rollout reports its default {enabled: false}",
    seeds=SEEDS_FLAGS,
    needs=("dsn",),
)
async def flags_for_fails_open(t: Surface) -> None:
    key = f"acc.{t.run_id}.rollout"
    user = await t.signup("flags")
    async with t.db() as conn:
        try:
            # Every flag there is before this check's own: a read that shows the own flag comes after them
            # (flags_for may read a replica that is a moment behind the primary).
            keys = {r["key"] for r in await conn.fetch("select key from public.feature_flags")}
            # A flag nobody is rolled out to yet (0 %): everyone must get its default, off.
            await conn.execute(
                "insert into public.feature_flags (key, value, rollout_pct) values ($1, '{\"enabled\": true}', 0)", key
            )
            callers: dict[str, tuple[As, dict[str, Any]]] = {
                "anon": ("anon", {}),
                "a user": (user, {}),
                "the service role for an unknown user id": ("service", {"p_user_id": str(uuid.uuid4())}),
            }
            for who, (as_, args) in callers.items():
                for _ in range(FLAG_READS):
                    answer = await t.rpc("flags_for", args, as_=as_)
                    expect(answer.ok and isinstance(answer.body, dict), f"flags_for as {who}: {answer.describe()}")
                    if key in answer.body:
                        break
                    await asyncio.sleep(0.1)
                else:
                    fail(f"flags_for as {who} still leaves out the check's new flag {key} after {FLAG_READS} reads")
                missing = sorted(keys - set(answer.body))
                if missing:  # not those another check (flags_rollout_boundary) deleted since they were read
                    missing = sorted(
                        r["key"]
                        for r in await conn.fetch(
                            "select key from public.feature_flags where key = any ($1::text[])", missing
                        )
                    )
                expect(not missing, f"flags_for as {who} left out flag(s) {missing[:8]}; expected every flag")
                # Only the flags it answered: one another check deleted since the read is not in the answer.
                bad = sorted(k for k in keys & set(answer.body) if not isinstance(answer.body[k], dict))
                expect(not bad, f"flags_for as {who} gave non-object values for {bad[:8]}; expected each flag's value")
                expect(
                    answer.body[key] == {"enabled": False},
                    f"flags_for as {who} reports the 0 % rollout flag {key} as {answer.body[key]!r}; "
                    'expected its default {"enabled": false}',
                )
        finally:
            await conn.execute("delete from public.feature_flags where key = $1", key)


async def _bucket_key(conn: asyncpg.Connection, prefix: str, user_id: str, bucket: int) -> str:
    """A flag key starting with `prefix` that puts `user_id` in rollout bucket `bucket`, as flags_for computes it."""
    key = await conn.fetchval(
        "select $1::text || g from generate_series(1, $3::int) g "
        "where mod(abs(hashtextextended($1::text || g || ':' || $2::text, 0)), 100) = $4::int order by g limit 1",
        prefix,
        user_id,
        BUCKET_SEARCH,
        bucket,
    )
    if key is None:
        fail(f"none of {BUCKET_SEARCH} flag keys {prefix}N puts user {user_id} in rollout bucket {bucket}")
    return str(key)


@check(
    "limits.flags_rollout_boundary",
    title="a flag at rollout_pct N is on for a user in bucket N - 1 and off for a user in bucket N, "
    "at the canary steps 0 % (nobody), 1 %, 5 % and 25 %",
    seeds=SEEDS_ROLLOUT,
    needs=("dsn",),
)
async def flags_rollout_boundary(t: Surface) -> None:
    user = await t.signup("rollout")
    # Each case gets a flag of its own, whose key puts the user in the case's bucket (buckets as
    # migration 170 computes them: hashtextextended(key || ':' || user id) mod 100, below rollout_pct = on).
    cases: dict[str, tuple[int, int, bool]] = {}
    async with t.db() as conn:
        try:
            for index, (bucket, pct, on) in enumerate(ROLLOUT_CASES):
                key = await _bucket_key(conn, f"acc.{t.run_id}.step{index}.", user.id, bucket)
                cases[key] = (bucket, pct, on)
                await conn.execute(
                    "insert into public.feature_flags (key, value, rollout_pct) values ($1, '{\"enabled\": true}', $2)",
                    key,
                    pct,
                )
            callers: list[tuple[str, As, dict[str, Any]]] = [
                ("the user", user, {}),
                ("the service role for the user's id", "service", {"p_user_id": user.id}),
            ]
            for who, as_, args in callers:
                for _ in range(FLAG_READS):
                    answer = await t.rpc("flags_for", args, as_=as_)
                    expect(answer.ok and isinstance(answer.body, dict), f"flags_for as {who}: {answer.describe()}")
                    if set(cases) <= set(answer.body):
                        break
                    await asyncio.sleep(0.1)
                else:
                    fail(f"flags_for as {who} still leaves out the check's new flags after {FLAG_READS} reads")
                wrong = [
                    f"{key} at {pct} % (user in bucket {bucket}): {answer.body[key]!r}"
                    for key, (bucket, pct, on) in cases.items()
                    if answer.body[key] != {"enabled": on}
                ]
                expect(
                    not wrong,
                    f"flags_for as {who} reports {'; '.join(wrong)}; expected a flag at rollout N on "
                    '({"enabled": true}) for a user in bucket N - 1 and off ({"enabled": false}) for one in bucket '
                    "N, 0 % off for everyone (buckets: hashtextextended(key || ':' || user id, 0) mod 100)",
                )
        finally:
            await conn.execute("delete from public.feature_flags where key = any ($1::text[])", list(cases))


@check(
    "limits.gc_learning_events_keeps_90_days",
    title="gc_learning_events() (the daily GC) deletes learning events older than 90 days and keeps "
    "younger ones (10 and 89 days old)",
    seeds=SEEDS_LEARNING_GC,
    needs=("dsn",),
)
async def gc_learning_events_keeps_90_days(t: Surface) -> None:
    user = await t.signup("learning-gc")
    uid = uuid.UUID(user.id)
    async with t.db() as conn:
        try:
            # The check's own events, aged through SQL (a fresh stack holds nothing 90 days old).
            await conn.execute(
                "insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp, ts) "
                "select $1, 'acceptance', 'age-' || d, 'acceptance', 0.5, now() - make_interval(days => d) "
                "from unnest($2::int[]) d",
                uid,
                [*LEARNING_KEPT_DAYS, *LEARNING_GONE_DAYS],
            )
            deleted = await t.rpc_ok("gc_learning_events", {}, as_="service")
            left = sorted(
                int(r["candidate_id"].removeprefix("age-"))
                for r in await conn.fetch("select candidate_id from public.learning_events where user_id = $1", uid)
            )
            expect(
                left == sorted(LEARNING_KEPT_DAYS),
                f"after gc_learning_events() (answered {deleted!r}), of the check's learning events aged "
                f"{sorted(LEARNING_KEPT_DAYS + LEARNING_GONE_DAYS)} days those aged {left} days are left; expected "
                f"{sorted(LEARNING_KEPT_DAYS)}: the GC cleans events 90+ days old and keeps the younger ones",
            )
            expect(
                isinstance(deleted, int) and deleted >= len(LEARNING_GONE_DAYS),
                f"gc_learning_events() answered {deleted!r} after deleting the check's {len(LEARNING_GONE_DAYS)} "
                "old events; expected the count of rows it deleted",
            )
        finally:
            await conn.execute("delete from public.learning_events where user_id = $1", uid)


@check(
    "limits.edge_429_with_retry_after",
    title="repeated wrong passwords for one account are refused with 429 rate_limited and a Retry-After "
    "in whole seconds, within the account's failed-login limit",
    seeds=SEEDS_EDGE,
)
async def edge_429_with_retry_after(t: Surface) -> None:
    user = await t.signup("edge-limit")
    body = {"email": user.email, "password": "not-" + user.password}
    statuses: list[int] = []
    for _ in range(MAX_WRONG_PASSWORDS):
        answer = await t.request(
            "POST", "/auth/v1/token?grant_type=password", as_="anon", json_body=body, wait_out_429=False,
            label=f"a wrong-password sign-in for {user.email}",
        )  # fmt: skip
        statuses.append(answer.status)
        if answer.status == 429:
            retry = answer.headers.get("retry-after", "")
            expect(
                retry.isdigit() and int(retry) >= 1,
                f"{answer.describe()} with Retry-After {retry!r}; expected a whole number of seconds >= 1",
            )
            expect(answer.code == "rate_limited", f"{answer.describe()}; expected the code rate_limited")
            return
        expect(
            answer.status == 400,
            f"{answer.describe()}; expected 400 invalid_credentials for a wrong password (then 429 once limited)",
        )
    fail(
        f"{MAX_WRONG_PASSWORDS} wrong passwords for one account were all answered {sorted(set(statuses))}, "
        "never 429: the failed-login limit per account (20) is not enforced"
    )
