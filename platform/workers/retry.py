"""When a failed queue item is tried again: a pure policy, no I/O.

The database owns the attempt count and the dead-letter decision (5 attempts,
migrations 130/140); this policy only says how long to wait before the next
attempt, and mirrors the kernel's own default so both agree on the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    base_s: int = 5
    cap_s: int = 300
    max_attempts: int = 5

    def delay_s(self, failed_attempt: int) -> int:
        """Seconds to wait after the `failed_attempt`-th failure (1-based): base * 2^n, capped."""
        if failed_attempt < 1:
            raise ValueError(f"failed_attempt must be >= 1 (got {failed_attempt})")
        # Bound the exponent before computing: 2**large is exact in Python but pointless.
        exponent = min(failed_attempt, 32)
        return int(min(self.base_s * 2**exponent, self.cap_s))

    def dead_letters(self, failed_attempt: int) -> bool:
        """Whether this failure is the last one (the item goes to the DLQ instead of back)."""
        return failed_attempt >= self.max_attempts


DEFAULT_RETRY = RetryPolicy()
