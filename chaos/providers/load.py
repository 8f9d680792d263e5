"""The background load that runs under an experiment: an open model over the platform's requests.

In a file it is a method activity with `"background": true`; it starts before the steady state is
first checked and stops after the recovery, and the error budget is judged on what it saw.
"""

from __future__ import annotations

from dataclasses import fields

from gauntlet.chaos.experiment import JsonValue, LoadSpec
from gauntlet.chaos.load_driver import REQUEST_KINDS
from gauntlet.chaos.providers import Args, Built, Param, Provider, ProviderError, Session

MODULE = "gauntlet.chaos.providers.load"
DEFAULTS = LoadSpec()


def _load(args: Args, session: Session) -> Built:
    mix: dict[str, int] = {}
    for kind, weight in args.mapping("mix").items():
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise ProviderError(f"mix weight of {kind!r} must be a whole number, not {weight!r}", key="mix")
        mix[kind] = weight
    unknown = sorted(set(mix) - set(REQUEST_KINDS))
    if unknown:
        raise ProviderError(
            f"mix names unknown request kind {unknown[0]!r}; known kinds: {', '.join(REQUEST_KINDS)}", key="mix"
        )
    spec = LoadSpec(
        rate_per_s=args.number("rate_per_s"),
        mix=mix,
        before_s=args.number("before_s"),
        after_s=args.number("after_s"),
        request_timeout_s=args.number("request_timeout_s"),
        users=args.whole("users"),
        max_in_flight=args.whole("max_in_flight"),
    )
    return Built(load=spec)


def load_arguments(spec: LoadSpec) -> dict[str, JsonValue]:
    """A LoadSpec as this provider's arguments (for `gauntlet chaos export`)."""
    values: dict[str, JsonValue] = {}
    for f in fields(spec):
        value = getattr(spec, f.name)
        values[f.name] = dict(value) if f.name == "mix" else value
    return values


PROVIDERS = {
    "background_load": Provider(
        "load",
        "requests at rate_per_s over the mix, from before the steady state to after the recovery",
        _load,
        (
            Param("rate_per_s", "number", "requests per second (open model)", default=DEFAULTS.rate_per_s),
            Param("mix", "object", "request kind -> weight", default=dict(DEFAULTS.mix)),
            Param("before_s", "number", "baseline before the method, s", default=DEFAULTS.before_s),
            Param("after_s", "number", "kept running after recovery, s", default=DEFAULTS.after_s),
            Param("request_timeout_s", "number", "one request's timeout, s", default=DEFAULTS.request_timeout_s),
            Param("users", "int", "signed-in users the load acts as", default=DEFAULTS.users),
            Param("max_in_flight", "int", "requests in flight at most", default=DEFAULTS.max_in_flight),
        ),
    ),
}
