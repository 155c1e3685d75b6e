"""The one place where venue requests are retried (freqtrade's ``retrier``, for trio).

Policy is in the exception type (see ``asnd.venues.base``):
- ``RetryableVenueError``: wait (the venue's ``retry_after_s`` if it said, else backoff with
  jitter) and try again, up to ``attempts`` times; ``before_retry`` runs first (the REST
  client resynchronises its clock there after 10002);
- ``OrderOutcomeUnknown`` is *not* retried here: resending a create blindly is how orders get
  duplicated. The caller resolves it by ``orderLinkId`` first (``BybitVenue.place``);
- ``BannedError`` is not retried here either: the wait is minutes, the REST client refuses to
  send anything until it is over, and the caller decides what waits (the executor's lookups
  and cancels sleep ``retry_after_s``);
- anything else (rejected, needs-a-human) propagates at once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import trio

from asnd.backoff import Backoff
from asnd.venues.base import BannedError, OrderOutcomeUnknown, RetryableVenueError

__all__ = ["RetryPolicy", "call_with_retries"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=0.2, cap_s=5.0))
    #: Never wait longer than this for a venue-supplied reset time (a wild header is capped).
    max_wait_s: float = 10.0


async def call_with_retries(
    request: Callable[[], Awaitable[T]],
    *,
    what: str,
    policy: RetryPolicy,
    rng: random.Random,
    before_retry: Callable[[RetryableVenueError], Awaitable[None]] | None = None,
) -> T:
    """Run ``request`` until it succeeds or fails for a reason a retry will not fix."""
    attempt = 1
    while True:
        try:
            return await request()
        except (OrderOutcomeUnknown, BannedError):
            raise
        except RetryableVenueError as exc:
            if attempt >= policy.attempts:
                raise
            if exc.retry_after_s is not None:
                wait = min(max(exc.retry_after_s, 0.0), policy.max_wait_s)
            else:
                wait = policy.backoff.delay(attempt, rng)
            log.warning("%s failed (attempt %d), retrying in %.3fs: %s", what, attempt, wait, exc)
            if before_retry is not None:
                await before_retry(exc)
            await trio.sleep(wait)
            attempt += 1
