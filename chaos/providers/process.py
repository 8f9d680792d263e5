"""Kill or restart a service of the embedded stack (process control: `gauntlet up`, not a deployed target)."""

from __future__ import annotations

import signal

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.experiment import Capability, JsonValue
from gauntlet.chaos.providers import Args, Built, Param, Provider, Session

MODULE = "gauntlet.chaos.providers.process"
SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGSTOP", "SIGCONT")
_SERVICE = Param("service", "str", "the service's name in the stack, e.g. worker_queue_1 or api", required=True)
_PROCESS_CONTROL: frozenset[Capability] = frozenset({"process_control"})


def _kill(args: Args, session: Session) -> Built:
    service, sig = args.text("service"), signal.Signals[args.text("signal")]

    async def kill(ctx: DrillContext) -> JsonValue:
        return {"killed": service, "signal": sig.name, "pid": await ctx.kill(service, sig)}

    return Built(fn=kill, requires=_PROCESS_CONTROL)


def _restart(args: Args, session: Session) -> Built:
    service = args.text("service")

    async def restart(ctx: DrillContext) -> JsonValue:
        return {"restarted": service, "pid": await ctx.restart(service)}

    return Built(fn=restart, requires=_PROCESS_CONTROL)


PROVIDERS = {
    "kill": Provider(
        "action",
        "send a signal to a service (SIGKILL unless told)",
        _kill,
        (_SERVICE, Param("signal", "str", "the signal", default="SIGKILL", choices=SIGNALS)),
    ),
    "restart": Provider("action", "start a service again and wait until it is healthy", _restart, (_SERVICE,)),
}
