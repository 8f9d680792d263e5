"""When a failed queue item is tried again: the queue's policy, read from the database.

The database makes the retry decision (`queue_retry_delay`, migration 125) from one
policy per queue (`queue_policy`: max retries, backoff). This module only reads that
policy, as the schedule `queue_retry_schedule` computes, so a worker or a drill can say
what will happen to an item without a second copy of the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gauntlet.platform.db import Connection
from gauntlet.platform.queries import sql


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """One queue's retry schedule: the wait after each failure that is retried."""

    queue: str
    retry_in_s: tuple[int, ...]  # the wait after failure 1, 2, ...; the next failure dead-letters

    @property
    def max_retries(self) -> int:
        return len(self.retry_in_s)

    @property
    def dead_letter_failure(self) -> int:
        """The failure (1-based) that dead-letters an item: one more than the retries."""
        return self.max_retries + 1

    def delay_s(self, failure: int) -> int | None:
        """Seconds to wait after the `failure`-th failure (1-based); None when it dead-letters the item."""
        if failure < 1:
            raise ValueError(f"failure must be >= 1 (got {failure})")
        return self.retry_in_s[failure - 1] if failure <= self.max_retries else None

    def dead_letters(self, failure: int) -> bool:
        """Whether this failure is the last one (the item goes to the dead letters instead of back)."""
        return self.delay_s(failure) is None


def policy_from_schedule(queue: str, rows: Iterable[Mapping[str, Any]]) -> RetryPolicy:
    """The policy of `queue_retry_schedule` rows (failure, retry_in_s), the last one dead-lettering."""
    ordered = sorted(rows, key=lambda row: int(row["failure"]))
    if not ordered:
        raise ValueError(f"queue {queue} has no queue_policy row (migration 125 defines one per queue)")
    if [int(row["failure"]) for row in ordered] != list(range(1, len(ordered) + 1)):
        raise ValueError(f"queue {queue}: the schedule's failures are not 1..{len(ordered)}")
    *retried, last = ordered
    if last["retry_in_s"] is not None or any(row["retry_in_s"] is None for row in retried):
        raise ValueError(f"queue {queue}: only the schedule's last failure may dead-letter")
    return RetryPolicy(queue=queue, retry_in_s=tuple(int(row["retry_in_s"]) for row in retried))


async def load_retry_policy(conn: Connection, queue: str) -> RetryPolicy:
    """Read the policy of `queue` (its table, e.g. ``events_queue``) from the database."""
    return policy_from_schedule(queue, await conn.fetch(sql("workers", "queue_retry_schedule"), queue))
