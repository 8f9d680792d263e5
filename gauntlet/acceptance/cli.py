"""`gauntlet acceptance`: the seeds' rules as black-box checks against the platform.

Exit codes: 0 every check passed, 1 a check failed or was skipped (a skipped
check proved nothing), 2 usage or environment error (no stack, an unknown check).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gauntlet.acceptance.registry import all_checks, select
from gauntlet.acceptance.runner import CheckResult, run_checks
from gauntlet.acceptance.surface import Target
from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, GauntletError
from gauntlet.base.files import write_atomically

err = Console(stderr=True)
out = Console()

acceptance_app = typer.Typer(
    name="acceptance",
    help="Every rule the seeds state (onboarding, feed, queues, access, ...) as a black-box check.\n\n"
    "Example: gauntlet acceptance run feed",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(acceptance_app, name="acceptance")


@acceptance_app.command("list")
def list_checks() -> None:
    """Every acceptance check: its id, the rule, and where the seeds state it.

    Example: gauntlet acceptance list
    """
    for spec in all_checks().values():
        needs = f" [dim](needs {', '.join(sorted(spec.needs))})[/]" if spec.needs else ""
        out.print(f"[bold]{spec.id}[/]{needs}: {spec.title} [dim]({spec.seeds})[/]", soft_wrap=True)


@acceptance_app.command("run")
def run(
    names: Annotated[
        list[str] | None, typer.Argument(help="Check ids or groups (default: all)", show_default=False)
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="A target file (gauntlet-target.toml: API URL, keys, DSN) or a platform URL [env "
            "GAUNTLET_TARGET_FILE]; default: the running stack"
        ),
    ] = None,
    service_key: Annotated[
        str | None,
        typer.Option(
            help="service_role key; better in the environment or the target file (a command line shows in `ps`)",
            envvar="GAUNTLET_SERVICE_KEY",
        ),
    ] = None,
    anon_key: Annotated[str | None, typer.Option(help="anon key", envvar="GAUNTLET_ANON_KEY")] = None,
    dsn: Annotated[
        str | None,
        typer.Option(
            help="Direct DSN of the primary, for checks that move time; better in the environment or the target file",
            envvar="GAUNTLET_DSN",
        ),
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the result JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result JSON on stdout")] = False,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="The stack to target")] = None,
) -> None:
    """Run the acceptance checks (all, or the named ids/groups) and print one line per check.

    Against a deployment, the keys and the DSN come from the target file or the environment
    (GAUNTLET_SERVICE_KEY, GAUNTLET_ANON_KEY, GAUNTLET_DSN), never needed on the command line:
    gauntlet acceptance run --target gauntlet-target.toml

    Example: gauntlet acceptance run feed queues.concurrent_leasers_never_share --out acceptance.json
    """
    chosen = select(names or [])
    resolved = _target(target, service_key, anon_key, dsn, state_dir)

    def progress(result: CheckResult) -> None:
        colour = {"passed": "green", "failed": "red", "skipped": "yellow"}[result.status]
        line = f"[{colour}]{result.status:>7}[/] {result.id} [dim]{result.seconds:.1f}s[/]"
        err.print(line + (f"\n         {result.message}" if result.message else ""), soft_wrap=True, highlight=False)

    outcome = asyncio.run(run_checks(resolved, chosen, progress))
    document = json.dumps(outcome.to_json(), indent=2) + "\n"
    if out_file is not None:
        write_atomically(out_file, document)
    if as_json:
        print(document, end="")
    counts = {s: sum(1 for r in outcome.results if r.status == s) for s in ("passed", "failed", "skipped")}
    err.print(
        f"acceptance: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
        f"in {(outcome.finished_at - outcome.started_at).total_seconds():.1f}s"
    )
    raise typer.Exit(EXIT_OK if outcome.passed else EXIT_FAILED)


def _target(
    target: str | None, service_key: str | None, anon_key: str | None, dsn: str | None, state_dir: Path | None
) -> Target:
    """The running stack, or the target (`--target URL|FILE`, $GAUNTLET_TARGET_FILE) with its keys and DSN.

    An option given on the command line (or its environment variable) wins over the target file.
    """
    from gauntlet.target import resolve_target

    described = resolve_target(target)
    if described is None:
        from gauntlet.stack.current import running_state

        state = running_state(state_dir)
        return Target(
            api_url=state.api_url,
            service_key=service_key or state.service_key,
            anon_key=anon_key or state.anon_key,
            dsn=dsn or state.direct.get("primary_dsn") or state.primary_dsn or None,
        )
    key = service_key or described.service_key
    if not key:
        raise GauntletError(
            f"target {described.label}: the acceptance checks need its service_role key: set service_key in "
            "the target file or GAUNTLET_SERVICE_KEY in the environment"
        )
    return Target(
        api_url=described.api_url,
        service_key=key,
        anon_key=anon_key or described.anon_key or "",
        dsn=dsn or described.dsn,
    )
