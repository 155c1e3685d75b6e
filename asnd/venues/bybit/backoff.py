"""Exponential backoff with jitter, from an injected random source (seeded in tests).

Used by the REST retry helper and by both WebSocket feeds' reconnect loops, so that every
wait in the venue follows one rule: ``min(cap, base * 2**(attempt-1))`` scaled by a jitter in
[0.5, 1.0) ("equal jitter": never zero, never in lockstep with other clients).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` >= 1)."""
        raw = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return raw * (0.5 + rng.random() / 2)
