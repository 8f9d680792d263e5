"""Sign-ups on a target: which of a profile's classes (and so which requests) a run may use.

`OnboardingUser` signs up a new person every iteration. On a deployment Gauntlet did not
start (a user's staging or production, `--target URL|FILE`) that is a sign-up loop on
someone else's data, so it runs only where the target file says `allow_signups = true`
(the embedded stack's own file, written by `gauntlet up`, does). Without it, `onboarding`
is refused (exit 2, naming the key) and `mixed` runs without its OnboardingUser: the run's
request set then drops what only onboarding makes, so `scope: profile` objectives on those
requests are out of scope for the run (with `scope: all` they fail, as asked).

Pure: no Locust import, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gauntlet.base.errors import GauntletError
from gauntlet.load.profiles.catalog import PROFILES, Profile

# The classes that sign up a new person each iteration.
SIGNING_UP = frozenset({"OnboardingUser"})
ALLOW_KEY = "allow_signups"


class SignupsNotAllowed(GauntletError):
    """A profile made only of sign-ups, against a target that does not allow them (exit 2)."""


@dataclass(frozen=True)
class SignupDecision:
    profile: Profile  # the profile as this run uses it
    dropped: tuple[str, ...] = ()  # classes left out (they sign up users in a loop)

    @property
    def note(self) -> str:
        """One line saying what was left out and how to have it back ('' if nothing was)."""
        if not self.dropped:
            return ""
        return (
            f"{self.profile.name} runs without {', '.join(self.dropped)} (it signs up a new user each iteration): "
            f"the target does not set {ALLOW_KEY} = true"
        )


def class_requests(name: str) -> frozenset[str]:
    """The requests a built-in class makes: those of its single-class profile."""
    for profile in PROFILES.values():
        if profile.user_classes == (name,):
            return profile.requests
    raise KeyError(name)


def for_target(profile: Profile, *, allow_signups: bool, target: str) -> SignupDecision:
    """The profile a run against `target` uses, given whether the target allows sign-ups."""
    looping = tuple(name for name in profile.user_classes if name in SIGNING_UP)
    if allow_signups or not looping:
        return SignupDecision(profile)
    kept = tuple(name for name in profile.user_classes if name not in SIGNING_UP)
    if not kept:
        raise SignupsNotAllowed(
            f"load {profile.name} signs up a new user every iteration, and {target} does not allow sign-ups: "
            f"set {ALLOW_KEY} = true in the target file (or GAUNTLET_ALLOW_SIGNUPS=1) if load may create users "
            "there, or pick a profile that signs in with accounts (gauntlet target accounts create --count N)"
        )
    requests = frozenset().union(*(class_requests(name) for name in kept))
    return SignupDecision(replace(profile, user_classes=kept, requests=requests), dropped=looping)
