"""What a drill runs against: the embedded stack (full control) or a platform URL (API only).

The embedded stack offers everything: the fault proxy, direct database
connections that bypass it (to arrange work and check invariants while the
proxied path is broken), its service logs, and process control (kill and
restart with changed settings). A remote target offers what the user gives:
the API always, a Toxiproxy URL and a database DSN when passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.chaos.experiment import Capability
from gauntlet.stack.state import StackState


@dataclass(frozen=True, slots=True)
class DrillTarget:
    label: str  # how messages name it: "the embedded stack in .gauntlet" or the URL
    api_url: str
    service_key: str
    toxiproxy_url: str | None = None
    primary_dsn: str | None = None  # direct, not through the fault proxy
    replica_dsns: tuple[str, ...] = ()  # direct
    state_dir: Path | None = None  # set for the embedded stack only
    jwt_secret: str | None = None  # embedded only: drill users get tokens without the rate-limited signup
    services: tuple[str, ...] = ()
    logs: dict[str, str] = field(default_factory=dict)  # service -> log file

    @property
    def capabilities(self) -> frozenset[Capability]:
        found: set[Capability] = set()
        if self.state_dir is not None:
            found.add("process_control")
        if self.toxiproxy_url:
            found.add("fault_proxy")
        if self.primary_dsn:
            found.add("database")
        if self.logs:
            found.add("logs")
        return frozenset(found)

    @property
    def embedded(self) -> bool:
        return self.state_dir is not None


def target_from_state(state: StackState) -> DrillTarget:
    """The embedded stack recorded in `state` (what `gauntlet up` started)."""
    # Both backends have process control: gauntlet.stack.control signals a pid or a container.
    return DrillTarget(
        label=f"the {state.backend} stack in {state.state_dir}",
        api_url=state.api_url.rstrip("/"),
        service_key=state.service_key,
        toxiproxy_url=state.toxiproxy_url or None,
        primary_dsn=state.direct.get("primary_dsn") or None,
        replica_dsns=tuple(state.direct.get("replica_dsns") or ()),
        state_dir=Path(state.state_dir),
        jwt_secret=state.jwt_secret or None,
        services=tuple(state.services),
        # Docker services log to the engine; their files appear only after `down`.
        logs={
            name: record.log for name, record in state.services.items() if record.log and state.backend == "embedded"
        },
    )


def remote_target(
    api_url: str, service_key: str, *, toxiproxy_url: str | None = None, primary_dsn: str | None = None
) -> DrillTarget:
    """A deployment named by URL: no process control, faults and invariants only if their URLs are given."""
    return DrillTarget(
        label=api_url,
        api_url=api_url.rstrip("/"),
        service_key=service_key,
        toxiproxy_url=toxiproxy_url,
        primary_dsn=primary_dsn,
    )
