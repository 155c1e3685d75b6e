"""Bybit ``retCode`` values and the policy each one gets (the exception tree of ``base``).

One table, so that the retry helper, the REST client and the local venue agree on meaning.
"""

from __future__ import annotations

from typing import Final

from asnd.venues.base import (
    NeedsHumanError,
    OrderRejectedError,
    RetryableVenueError,
    VenueError,
)

__all__ = [
    "DUPLICATE_LINK_ID",
    "INSUFFICIENT_BALANCE",
    "INVALID_KEY",
    "IP_MISMATCH",
    "NEEDS_HUMAN",
    "OK",
    "ORDER_NOT_FOUND",
    "PARAMS_ERROR",
    "PERMISSION_DENIED",
    "RATE_LIMITED",
    "RETRYABLE",
    "SERVER_ERROR",
    "SIGN_ERROR",
    "TIMESTAMP_OUT_OF_WINDOW",
    "error_for",
]

OK: Final = 0
PARAMS_ERROR: Final = 10001
TIMESTAMP_OUT_OF_WINDOW: Final = 10002  # our clock drifted: resync, then retry
INVALID_KEY: Final = 10003
SIGN_ERROR: Final = 10004
PERMISSION_DENIED: Final = 10005
RATE_LIMITED: Final = 10006
IP_MISMATCH: Final = 10010
SERVER_ERROR: Final = 10016
ORDER_NOT_FOUND: Final = 110001
INSUFFICIENT_BALANCE: Final = 110007
DUPLICATE_LINK_ID: Final = 110072

NEEDS_HUMAN: Final = frozenset({INVALID_KEY, SIGN_ERROR, PERMISSION_DENIED, IP_MISMATCH})
RETRYABLE: Final = frozenset({TIMESTAMP_OUT_OF_WINDOW, RATE_LIMITED, SERVER_ERROR, 10018})


def error_for(
    code: int, message: str, *, what: str, retry_after_s: float | None = None
) -> VenueError:
    """The exception for a non-zero ``retCode`` (``what`` names the request, e.g. "create")."""
    text = f"bybit {what}: retCode {code}: {message}"
    if code in NEEDS_HUMAN:
        return NeedsHumanError(text, code=code)
    if code in RETRYABLE:
        return RetryableVenueError(text, code=code, retry_after_s=retry_after_s)
    return OrderRejectedError(text, code=code)
