"""The acceptance runner's verdicts: a failure, a timeout or a crash is never a pass; a missing DSN is a skip."""

from __future__ import annotations

import asyncio

import pytest

from gauntlet.acceptance.registry import AcceptanceCheck, CheckFailed, UnknownCheck, check, select
from gauntlet.acceptance.runner import run_checks
from gauntlet.acceptance.surface import Surface, Target

# Nothing listens here: the checks below never call the platform.
TARGET = Target(api_url="http://127.0.0.1:9", service_key="service")


def _spec(name: str, body: object, *, exclusive: bool = False, timeout_s: float = 5.0) -> AcceptanceCheck:
    async def fn(t: Surface) -> None:
        if isinstance(body, BaseException):
            raise body
        if body == "sleep":
            await asyncio.sleep(10)
        if body == "dsn":
            async with t.db():
                pass

    return AcceptanceCheck(id=f"unit.{name}", title=name, seeds="test", fn=fn, exclusive=exclusive, timeout_s=timeout_s)


async def test_each_outcome_gets_its_status_and_message() -> None:
    specs = [
        _spec("held", None),
        _spec("broke", CheckFailed("hidden item came back on page 2")),
        _spec("crashed", KeyError("items")),
        _spec("stuck", "sleep", timeout_s=0.2),
        _spec("no_dsn", "dsn"),
    ]
    run = await run_checks(TARGET, specs)
    by_id = {r.id: r for r in run.results}
    assert [r.id for r in run.results] == [s.id for s in specs]  # the declared order, whatever finished first
    assert by_id["unit.held"].status == "passed"
    assert by_id["unit.broke"].status == "failed"
    assert by_id["unit.broke"].message == "hidden item came back on page 2"
    assert by_id["unit.crashed"].status == "failed"
    assert "KeyError" in by_id["unit.crashed"].message
    assert by_id["unit.stuck"].status == "failed"
    assert "did not finish within" in by_id["unit.stuck"].message
    assert by_id["unit.no_dsn"].status == "skipped"
    assert "DSN" in by_id["unit.no_dsn"].message
    assert not run.passed
    assert run.to_json()["passed"] is False


async def test_a_run_passes_only_when_every_check_held() -> None:
    assert (await run_checks(TARGET, [_spec("a", None), _spec("b", None)])).passed
    assert not (await run_checks(TARGET, [_spec("a", None), _spec("skip", "dsn")])).passed
    assert not (await run_checks(TARGET, [])).passed  # checking nothing is not a pass


async def test_exclusive_checks_run_alone_after_the_others() -> None:
    order: list[str] = []
    running: list[str] = []

    def spec(name: str, exclusive: bool) -> AcceptanceCheck:
        async def fn(t: Surface) -> None:
            running.append(name)
            if exclusive:
                assert running == [name], f"{name} ran beside {running}"
            await asyncio.sleep(0.01)
            running.remove(name)
            order.append(name)

        return AcceptanceCheck(id=f"unit.{name}", title=name, seeds="test", fn=fn, exclusive=exclusive)

    run = await run_checks(TARGET, [spec("x", True), spec("a", False), spec("b", False)])
    assert run.passed, [r.message for r in run.results]
    assert order[-1] == "x"


def test_check_ids_are_group_dot_rule() -> None:
    with pytest.raises(ValueError, match=r"group\.rule"):
        check("NoDot", title="t", seeds="s")


def test_selecting_by_group_or_id_and_refusing_unknown_names() -> None:
    everything = select([])
    groups = {c.group for c in everything}
    assert {"onboarding"} <= groups
    onboarding = select(["onboarding"])
    assert onboarding and all(c.group == "onboarding" for c in onboarding)
    one = select([onboarding[0].id])
    assert [c.id for c in one] == [onboarding[0].id]
    with pytest.raises(UnknownCheck, match="gauntlet acceptance list"):
        select(["no_such_group"])
