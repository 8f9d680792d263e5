"""The user mix of a smoke run: how many users of each class, and which requests they are sure to reach.

Locust spreads users over a profile's classes by weight, so the three users of a `mixed` smoke
run were three feed scrollers and never an onboarding person: the thresholds on
`complete_onboarding` and the suggestions RPC then failed for want of samples. A smoke run
instead starts a fixed mix: at least one user of every class (the rest by weight), and every
class makes its first-pass requests (`catalog.FIRST_PASS`) whatever the random draws, so a
healthy target passes by default. `unreached` names the thresholds no user of a mix reaches.

Pure: no Locust import (the Locust process applies the mix as each class's `fixed_count`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gauntlet.load.profiles.catalog import FIRST_PASS, MIXED_WEIGHTS, Profile
from gauntlet.load.shapes import SMOKE_USERS, ShapeError
from gauntlet.load.thresholds import OVERALL, Threshold


def smoke_users(profile: Profile, requested: int | None) -> int:
    """The smoke run's user count: as asked, else SMOKE_USERS but never fewer than one per class."""
    return requested if requested is not None else max(SMOKE_USERS, len(profile.user_classes))


def smoke_mix(profile: Profile, users: int) -> dict[str, int]:
    """`users` spread over the profile's classes: one of each first, the rest by weight (largest remainder)."""
    classes = profile.user_classes
    if users < len(classes):
        raise ShapeError(
            f"the smoke scenario of {profile.name} starts at least one user of each of its {len(classes)} "
            f"classes ({', '.join(classes)}), so each thresholded request is reached: pass --users {len(classes)} "
            "or more"
        )
    mix = dict.fromkeys(classes, 1)
    rest = users - len(classes)
    if rest == 0:
        return mix
    weights = {name: MIXED_WEIGHTS.get(name, 1) for name in classes}
    total = sum(weights.values())
    shares = {name: rest * weight / total for name, weight in weights.items()}
    for name, share in shares.items():
        mix[name] += int(share)
    left = users - sum(mix.values())
    # The largest remainders get the users left over; ties go to the class listed first.
    by_remainder = sorted(classes, key=lambda name: (-(shares[name] - int(shares[name])), classes.index(name)))
    for name in by_remainder[:left]:
        mix[name] += 1
    return mix


def reached(mix: Mapping[str, int]) -> frozenset[str]:
    """The request names the users of `mix` make on their first pass."""
    return frozenset().union(*(FIRST_PASS[name] for name, count in mix.items() if count > 0))


def unreached(thresholds: Iterable[Threshold], mix: Mapping[str, int]) -> tuple[Threshold, ...]:
    """The per-request thresholds whose request no user of `mix` is sure to make (they would see no samples)."""
    made = reached(mix)
    return tuple(t for t in thresholds if t.scope != OVERALL and t.scope not in made)
