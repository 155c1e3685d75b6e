"""One backoff rule for every retry in the daemon: exponential, capped, optionally jittered.

``delay(attempt) = min(cap_s, base_s * 2**(attempt-1))``, then scaled by a factor drawn from
``[1 - jitter, 1)`` with the *injected* random source, so a seeded test (or a replay) waits
exactly as often and as long as it did before. ``jitter`` 0 is the plain doubling rule and
needs no random source; 0.5 is "equal jitter" (never zero, never in lockstep with other
clients reconnecting after the same outage).

Users: the Bybit REST retries, bans and WebSocket reconnects (``jitter`` 0.5), the executor's
retries and lookups and the supervisor's restarts (``jitter`` 0: their tests and operators
count on the exact doubling), the alert deliveries (``asnd.alerts``, jittered).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 30.0
    jitter: float = 0.5  # the fraction of the delay that is random (0: none)

    def __post_init__(self) -> None:
        if not self.base_s > 0 or not self.cap_s >= self.base_s:
            raise ValueError(f"Backoff needs 0 < base_s <= cap_s, got {self.base_s}, {self.cap_s}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"Backoff.jitter must be within [0, 1], got {self.jitter}")

    def raw(self, attempt: int) -> float:
        """The un-jittered delay before attempt ``attempt + 1`` (``attempt`` >= 1)."""
        # The exponent is bounded so that a long outage cannot overflow the float.
        return min(self.cap_s, self.base_s * 2.0 ** min(max(0, attempt - 1), 64))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` >= 1).

        A jittered backoff needs ``rng`` (seeded in tests): there is no hidden global one.
        """
        raw = self.raw(attempt)
        if self.jitter == 0.0:
            return raw
        if rng is None:
            raise ValueError("a jittered Backoff needs a random source (rng)")
        return raw * (1.0 - self.jitter + self.jitter * rng.random())
