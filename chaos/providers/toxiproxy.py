"""Faults through the fault proxy (Toxiproxy API), by role: primary_db, replica_db, redis, api.

The target maps each role to a proxy name (the embedded stack does it; a target file says it under
[proxies]), so an experiment never names a proxy itself.
"""

from __future__ import annotations

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.experiment import Capability, JsonValue
from gauntlet.chaos.providers import Args, Built, Param, Provider, ProviderError, Session

MODULE = "gauntlet.chaos.providers.toxiproxy"
ROLES = ("primary_db", "replica_db", "redis", "api")
TOXICS = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data")
_ROLE = Param("role", "str", "the proxy's role", required=True, choices=ROLES)
_FAULT_PROXY: frozenset[Capability] = frozenset({"fault_proxy"})


def _add_toxic(args: Args, session: Session) -> Built:
    role, type_, stream = args.text("role"), args.text("type"), args.text("stream")
    name = args.opt_text("name") or f"gauntlet_{type_}"
    attributes: dict[str, int | float] = {}
    for key, value in args.mapping("attributes").items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProviderError(f"toxic attribute {key!r} must be a number, not {value!r}", key="attributes")
        attributes[key] = value

    async def add(ctx: DrillContext) -> JsonValue:
        proxy = ctx.proxy(role)
        await ctx.add_toxic(proxy, type_, name=name, attributes=attributes, stream=stream)
        return {"proxy": proxy, "toxic": name, "type": type_, "attributes": dict(attributes)}

    return Built(fn=add, requires=_FAULT_PROXY, roles=frozenset({role}))


def _remove_toxic(args: Args, session: Session) -> Built:
    role, name = args.text("role"), args.text("name")

    async def remove(ctx: DrillContext) -> JsonValue:
        await ctx.remove_toxic(ctx.proxy(role), name)
        return {"removed": name}

    return Built(fn=remove, requires=_FAULT_PROXY, roles=frozenset({role}))


def _enabled(enabled: bool) -> Provider:
    def build(args: Args, session: Session) -> Built:
        role = args.text("role")

        async def switch(ctx: DrillContext) -> JsonValue:
            proxy = ctx.proxy(role)
            await ctx.set_proxy_enabled(proxy, enabled)
            return {"proxy": proxy, "enabled": enabled}

        return Built(fn=switch, requires=_FAULT_PROXY, roles=frozenset({role}))

    what = "enable the proxy again" if enabled else "disable the proxy: open connections cut, new ones refused"
    return Provider("action", what, build, (_ROLE,))


def _reset(args: Args, session: Session) -> Built:
    async def reset(ctx: DrillContext) -> JsonValue:
        await ctx.reset_faults()
        return {"reset": True}

    return Built(fn=reset, requires=_FAULT_PROXY)


PROVIDERS = {
    "add_toxic": Provider(
        "action",
        "add a toxic to the role's proxy",
        _add_toxic,
        (
            _ROLE,
            Param("type", "str", "the toxic's type", required=True, choices=TOXICS),
            Param("attributes", "object", "the toxic's attributes, e.g. {latency: 400, jitter: 100}", default={}),
            Param("name", "str", "the toxic's name, to remove it by [default: gauntlet_<type>]"),
            Param("stream", "str", "which direction", default="downstream", choices=("upstream", "downstream")),
        ),
    ),
    "remove_toxic": Provider(
        "action",
        "remove a toxic from the role's proxy",
        _remove_toxic,
        (_ROLE, Param("name", "str", "the toxic's name", required=True)),
    ),
    "disable_proxy": _enabled(False),
    "enable_proxy": _enabled(True),
    "reset": Provider("action", "every proxy enabled, every toxic removed", _reset),
}
