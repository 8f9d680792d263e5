"""What every probe, action and invariant of a drill receives: the target and ways to act on it.

Blocking work (process control, the synchronous Toxiproxy client) runs in a
thread, so the background load keeps its schedule while a drill kills or
restarts something.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg
import httpx

from gauntlet.chaos.experiment import UnsupportedTarget
from gauntlet.chaos.target import DrillTarget

if TYPE_CHECKING:
    from gauntlet.chaos.windows import Sample
    from gauntlet.faultproxy.client import Toxic, ToxiproxyClient

DB_CONNECT_TIMEOUT_S = 5.0


class BackgroundLoad(Protocol):
    """The load that runs while a drill breaks things (load_driver.LoadDriver, or a fake in tests)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def samples(self) -> list[Sample]: ...


@dataclass(frozen=True, slots=True)
class DrillUser:
    user_id: str
    email: str
    token: str


@dataclass
class DrillContext:
    target: DrillTarget
    run_id: str  # short and unique per run: drills mark the data they create with it
    api: httpx.AsyncClient | None = None  # base_url = the platform's API
    users: list[DrillUser] = field(default_factory=list)  # the background load's users
    subject: DrillUser | None = None  # a user of the drill's own (its effects never mix with the load's)
    interest_ids: list[str] = field(default_factory=list)
    load: BackgroundLoad | None = None
    # Set by the runner: when the run started, and when the fault was injected and removed (epoch seconds).
    started_at: float | None = None
    fault_started_at: float | None = None
    fault_ended_at: float | None = None
    # Proxies the drill faulted (name -> the toxic's type, or "disabled"): the evidence the fault landed.
    faulted: dict[str, str] = field(default_factory=dict)

    # -- the API ---------------------------------------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        if self.api is None:
            raise UnsupportedTarget("this drill step calls the API, but the drill context has no API client")
        return self.api

    @property
    def service_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.target.service_key}"}

    async def rpc(
        self, function: str, args: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        """POST /rest/v1/rpc/{function}, as the service role unless a user's token is given."""
        headers = {"Authorization": f"Bearer {token}"} if token else self.service_headers
        return await self.http().post(f"/rest/v1/rpc/{function}", json=args or {}, headers=headers)

    def subject_id(self) -> uuid.UUID:
        """The drill's own user, as a UUID for SQL parameters."""
        if self.subject is None:
            raise RuntimeError("the drill has no subject user (the session creates one before the drill runs)")
        return uuid.UUID(self.subject.user_id)

    def samples(self) -> list[Sample]:
        return [] if self.load is None else self.load.samples()

    # -- the database, directly (bypassing the fault proxy) ------------------------------------

    @asynccontextmanager
    async def primary(self) -> AsyncIterator[asyncpg.Connection]:
        """A superuser connection straight to the primary: the truth, whatever the proxies do."""
        dsn = self.target.primary_dsn
        if not dsn:
            raise UnsupportedTarget(f"{self.target.label} gives no database DSN; this drill step needs one")
        conn = await asyncpg.connect(dsn, timeout=DB_CONNECT_TIMEOUT_S)
        try:
            await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
            yield conn
        finally:
            await conn.close(timeout=DB_CONNECT_TIMEOUT_S)

    # -- the fault proxy -----------------------------------------------------------------------

    def proxy(self, role: str) -> str:
        """The target's proxy for `role` (primary_db, replica_db, redis, api)."""
        name = self.target.proxies.get(role)
        if not name:
            raise UnsupportedTarget(
                f'{self.target.label} maps no proxy for {role}: add {role} = "NAME" under [proxies] in the target file'
            )
        return name

    def _toxiproxy(self) -> ToxiproxyClient:
        from gauntlet.faultproxy.client import ToxiproxyClient

        if not self.target.toxiproxy_url:
            raise UnsupportedTarget(f"{self.target.label} has no Toxiproxy API; this drill injects faults through one")
        return ToxiproxyClient(self.target.toxiproxy_url)

    async def add_toxic(
        self, proxy: str, type_: str, *, name: str, attributes: dict[str, int | float], stream: str = "downstream"
    ) -> Toxic:
        def call() -> Toxic:
            with self._toxiproxy() as client:
                return client.add_toxic(proxy, type_, name=name, stream=stream, attributes=attributes)

        self.faulted.setdefault(proxy, type_)
        return await asyncio.to_thread(call)

    async def remove_toxic(self, proxy: str, name: str) -> None:
        def call() -> None:
            with self._toxiproxy() as client:
                client.remove_toxic(proxy, name)

        await asyncio.to_thread(call)

    async def set_proxy_enabled(self, proxy: str, enabled: bool) -> None:
        def call() -> None:
            with self._toxiproxy() as client:
                client.update_proxy(proxy, enabled=enabled)

        if not enabled:
            self.faulted.setdefault(proxy, "disabled")
        await asyncio.to_thread(call)

    async def reset_faults(self) -> None:
        """Every proxy enabled, every toxic removed (Toxiproxy's POST /reset)."""

        def call() -> None:
            with self._toxiproxy() as client:
                client.reset()

        await asyncio.to_thread(call)

    # -- process control (embedded stack only) -------------------------------------------------

    def _state_dir(self) -> Path:
        if self.target.state_dir is None:
            raise UnsupportedTarget(f"{self.target.label} offers no process control; kill/restart need `gauntlet up`")
        return self.target.state_dir

    async def kill(self, service: str, sig: int = signal.SIGKILL) -> int:
        from gauntlet.stack import control

        state_dir = self._state_dir()
        return await asyncio.to_thread(control.kill, state_dir, service, sig)

    async def restart(self, service: str, env: dict[str, str | None] | None = None) -> int | None:
        """Start `service` again (with `env` changed from now on) and wait until it is healthy; its new pid."""
        from gauntlet.stack import control

        state_dir = self._state_dir()
        record = await asyncio.to_thread(lambda: control.restart(state_dir, service, env=env))
        return record.pid

    def log_path(self, service: str) -> Path | None:
        log = self.target.logs.get(service)
        return Path(log) if log else None
