"""What a drill runs against: the embedded stack (full control) or a platform URL (API only).

The embedded stack offers everything: the fault proxy, direct database
connections that bypass it (to arrange work and check invariants while the
proxied path is broken), its service logs, and process control (kill and
restart with changed settings). A remote target offers what the user gives:
the API always, a Toxiproxy URL and a database DSN when passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.chaos.experiment import Capability
from gauntlet.stack.state import StackState
from gauntlet.target import EMBEDDED_PROXIES


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
    # Role (primary_db, replica_db, redis, api) -> the proxy's name in the target's Toxiproxy.
    proxies: dict[str, str] = field(default_factory=dict)
    # Sign-in accounts (email, password) for the load and the drill's subject; empty: sign up (remote).
    accounts: tuple[tuple[str, str], ...] = ()

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
        proxies=dict(EMBEDDED_PROXIES),
    )


def remote_target(
    api_url: str,
    service_key: str,
    *,
    toxiproxy_url: str | None = None,
    primary_dsn: str | None = None,
    proxies: Mapping[str, str] | None = None,
    accounts: tuple[tuple[str, str], ...] = (),
    label: str | None = None,
) -> DrillTarget:
    """A deployment named by URL: no process control, faults and invariants only if their URLs are given.

    Without a proxy map, the embedded stack's names are assumed (what `--toxiproxy-url` always meant).
    """
    return DrillTarget(
        label=label or api_url,
        api_url=api_url.rstrip("/"),
        service_key=service_key,
        toxiproxy_url=toxiproxy_url,
        primary_dsn=primary_dsn,
        proxies=dict(proxies) if proxies else (dict(EMBEDDED_PROXIES) if toxiproxy_url else {}),
        accounts=accounts,
    )
