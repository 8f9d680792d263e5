"""Running a drill against a target: the users, the catalog and the load it needs, the journal file.

The preparation is the drill's first setup action, so a platform that cannot
even be prepared gives an `aborted` journal (with the reason), not a traceback.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx

from gauntlet.chaos.cleanup import EmbeddedStackKeeper, RemoteKeeper
from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.evidence import read_proxy_bytes
from gauntlet.chaos.experiment import Action, Drill, JsonValue, ensure_drill_is_valid, ensure_target_supports
from gauntlet.chaos.journal import Journal, write_journal
from gauntlet.chaos.load_driver import LoadDriver, RequestPlan
from gauntlet.chaos.runner import StackKeeper, TrafficReader, run_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.chaos.users import catalog_interest_ids, ensure_users, load_user_email, subject_email
from gauntlet.chaos.windows import Sample

API_TIMEOUT_S = 10.0


def _prepare(drill: Drill, seed: int | None, on_sample: Callable[[Sample], None] | None) -> Action:
    async def prepare(ctx: DrillContext) -> JsonValue:
        spec = drill.load
        users = spec.users if spec is not None else 0
        ctx.users = await ensure_users(ctx, [load_user_email(i) for i in range(1, users + 1)])
        # With a target's accounts, the subject is the one after the load's (its effects stay apart).
        ctx.subject = (await ensure_users(ctx, [subject_email(drill.name)], offset=users))[0]
        ctx.interest_ids = await catalog_interest_ids(ctx)
        if spec is not None:
            plan = RequestPlan(ctx.run_id, ctx.users, ctx.interest_ids)
            ctx.load = LoadDriver(ctx.target.api_url, spec, plan, seed=seed, on_sample=on_sample)
        return {"load_users": len(ctx.users), "interests": len(ctx.interest_ids), "subject": ctx.subject.user_id}

    return Action("prepare users, catalog and load", prepare)


async def run_one(
    drill: Drill,
    target: DrillTarget,
    *,
    journal_dir: Path | None = None,
    seed: int | None = None,
    on_step: Callable[[str], None] | None = None,
    on_sample: Callable[[Sample], None] | None = None,
    write: Callable[[Journal, Path], Path] = write_journal,
) -> Journal:
    """Run `drill` once against `target`; the journal is written to `journal_dir` when given (by `write`).

    Raises DrillError subclasses (usage/environment) before touching anything when the drill is
    malformed or the target cannot run it.
    """
    ensure_drill_is_valid(drill)
    ensure_target_supports(drill, target.capabilities, target.label, target.proxies)
    run_id = secrets.token_hex(4)
    async with httpx.AsyncClient(base_url=target.api_url, timeout=API_TIMEOUT_S) as api:
        ctx = DrillContext(target=target, run_id=run_id, api=api)
        prepared = drill.with_(setup=(_prepare(drill, seed, on_sample), *drill.setup))
        keeper: StackKeeper = EmbeddedStackKeeper(ctx) if target.embedded else RemoteKeeper(ctx)

        def on_done(journal: Journal) -> None:
            if journal_dir is not None:
                write(journal, journal_dir)

        return await run_drill(
            prepared, ctx, keeper=keeper, on_done=on_done, traffic=_traffic_reader(target), on_step=on_step
        )


def _traffic_reader(target: DrillTarget) -> TrafficReader | None:
    """The fault proxy's byte counters, read in a thread (the evidence that a fault landed)."""
    url = target.toxiproxy_url
    if not url:
        return None

    async def read() -> dict[str, int] | None:
        return await asyncio.to_thread(read_proxy_bytes, url)

    return read
