"""Rate limits (DB and edge) and feature flags (seeds 000 "Rate Limiting", 003/004 Tasks 1-3).

- bump_rate(bucket, limit, window): a fixed window; N calls allowed, the N+1st refused, a new
  window (moved through SQL, no sleeping) allows again.
- check_rate_limit: a token bucket of capacity p_limit; N allowed, then refused with a
  retry_after; refilled as time passes (moved through SQL).
- Edge limits answer 429 with Retry-After: checked on the one edge bucket a check can empty
  within its budget, the per-account failed-login limit (20 wrong passwords; the gate stack's
  GAUNTLET_RATE_LIMIT_MULTIPLIER=50 scales every other bucket out of reach, and leaves this one
  alone: platform/ratelimit.py UNSCALED).
- flags_for fails open: whoever asks (anon, a user, an unknown user id), it answers every flag
  with its value, and a flag outside the caller's rollout reports its default
  {"enabled": false} rather than an error or nothing.
"""

from __future__ import annotations

import uuid

from gauntlet.acceptance.registry import check, expect, fail
from gauntlet.acceptance.surface import Surface

SEEDS_DB = "000 Rate Limiting (bump_rate(bucket, limit, window_seconds) -> boolean); 003 Task 2 DB rate limits"
SEEDS_FLAGS = "003 Task 1 Feature flags: flags_for() RPC, fail-open defaults"
SEEDS_EDGE = "003/004 Task 3 Edge rate limits (auth profile); 000 Rate Limiting"
# Wrong passwords for one account before its limit must answer 429 (its capacity is 20; at multiplier 1
# the per-address-and-account `auth` bucket of 10 answers first).
MAX_WRONG_PASSWORDS = 25


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
    "and allows again once the bucket refilled",
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
            # A flag nobody is rolled out to yet (0 %): everyone must get its default, off.
            await conn.execute(
                "insert into public.feature_flags (key, value, rollout_pct) values ($1, '{\"enabled\": true}', 0)", key
            )
            keys = {r["key"] for r in await conn.fetch("select key from public.feature_flags")}
            callers = {
                "anon": await t.rpc("flags_for", {}, as_="anon"),
                "a user": await t.rpc("flags_for", {}, as_=user),
                "the service role for an unknown user id": await t.rpc(
                    "flags_for", {"p_user_id": str(uuid.uuid4())}, as_="service"
                ),
            }
            for who, answer in callers.items():
                expect(answer.ok and isinstance(answer.body, dict), f"flags_for as {who}: {answer.describe()}")
                missing = sorted(keys - set(answer.body))
                expect(not missing, f"flags_for as {who} left out flag(s) {missing[:8]}; expected every flag")
                bad = sorted(k for k in keys if not isinstance(answer.body.get(k), dict))
                expect(not bad, f"flags_for as {who} gave non-object values for {bad[:8]}; expected each flag's value")
                expect(
                    answer.body[key] == {"enabled": False},
                    f"flags_for as {who} reports the 0 % rollout flag {key} as {answer.body[key]!r}; "
                    'expected its default {"enabled": false}',
                )
        finally:
            await conn.execute("delete from public.feature_flags where key = $1", key)


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
