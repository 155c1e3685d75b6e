"""Bybit ``retCode`` values and HTTP statuses, and the policy each one gets: ONE table.

Source: Bybit's v5 error-code page, https://bybit-exchange.github.io/docs/v5/error (HTTP
codes, UTA codes 10xxx/110xxx, spot codes 170xxx). The retry helper, the REST client, the
venue and the local test venue all read their meaning from here.

The rule that saves money: only a code *documented as a refusal* becomes a rejection. A code
that does not say whether the venue acted (server timeout, server error, system busy, a code
missing from this table) is ``UNKNOWN``: on a create it is ``OrderOutcomeUnknown`` and the
order is looked up by ``orderLinkId`` (never re-sent blindly); on any other request, which is
safe to repeat, it is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final

from asnd.venues.base import (
    BannedError,
    NeedsHumanError,
    OrderOutcomeUnknown,
    OrderRejectedError,
    RetryableVenueError,
    VenueError,
)

__all__ = [
    "DUPLICATE_LINK_ID",
    "HTTP_POLICY",
    "INSUFFICIENT_BALANCE",
    "INVALID_KEY",
    "IP_MISMATCH",
    "OK",
    "ORDER_NOT_FOUND",
    "PARAMS_ERROR",
    "PERMISSION_DENIED",
    "POLICY",
    "RATE_LIMITED",
    "SERVER_ERROR",
    "SERVER_TIMEOUT",
    "SIGN_ERROR",
    "TIMESTAMP_OUT_OF_WINDOW",
    "Policy",
    "error_for",
    "http_error_for",
    "policy_of",
]


class Policy(Enum):
    """What a code means for the request that got it."""

    OK = "ok"
    #: The venue refused and did nothing: ``OrderRejectedError``, never retried.
    REJECT = "reject"
    #: Nobody knows whether the venue acted: a create is looked up, anything else retried.
    UNKNOWN = "unknown"
    #: Our clock is off (10002): resynchronise, then retry. Nothing was done.
    RESYNC = "resync"
    #: Per-UID rate limit (10006): wait for ``X-Bapi-Limit-Reset-Timestamp``. Nothing done.
    RATE_LIMIT = "rate-limit"
    #: Throttled before processing (IP rate, too many new orders): back off, retry.
    BACKOFF = "backoff"
    #: Our IP is banned for a while (HTTP 403): halt trading, retry only after minutes.
    BANNED = "banned"
    #: Key, signature, permissions, IP binding, account state: a person must act.
    NEEDS_HUMAN = "needs-human"
    #: The order is not (or no longer) workable: on a cancel, look up what became of it.
    GONE = "gone"
    #: The ``orderLinkId`` exists already: look up the order that has it.
    DUPLICATE = "duplicate"


OK: Final = 0
SERVER_TIMEOUT: Final = 10000
PARAMS_ERROR: Final = 10001
TIMESTAMP_OUT_OF_WINDOW: Final = 10002
INVALID_KEY: Final = 10003
SIGN_ERROR: Final = 10004
PERMISSION_DENIED: Final = 10005
RATE_LIMITED: Final = 10006
IP_MISMATCH: Final = 10010
SERVER_ERROR: Final = 10016
ORDER_NOT_FOUND: Final = 110001
INSUFFICIENT_BALANCE: Final = 110007
DUPLICATE_LINK_ID: Final = 110072

_P = Policy
#: retCode -> (policy, Bybit's meaning). A code not listed is ``UNKNOWN``.
POLICY: Final[Mapping[int, tuple[Policy, str]]] = {
    OK: (_P.OK, "OK"),
    -1: (_P.UNKNOWN, "request expired"),
    429: (_P.UNKNOWN, "trading service under high load, retry"),
    33004: (_P.NEEDS_HUMAN, "API key expired (derivatives)"),
    SERVER_TIMEOUT: (_P.UNKNOWN, "server timeout"),
    PARAMS_ERROR: (_P.REJECT, "request parameter error"),
    TIMESTAMP_OUT_OF_WINDOW: (_P.RESYNC, "request time outside the recv window"),
    INVALID_KEY: (_P.NEEDS_HUMAN, "API key invalid or wrong environment"),
    SIGN_ERROR: (_P.NEEDS_HUMAN, "signature error"),
    PERMISSION_DENIED: (_P.NEEDS_HUMAN, "permission denied: check the key's permissions"),
    RATE_LIMITED: (_P.RATE_LIMIT, "too many visits"),
    10007: (_P.NEEDS_HUMAN, "user authentication failed"),
    10008: (_P.NEEDS_HUMAN, "common ban: check the account mode"),
    10009: (_P.BANNED, "IP has been banned"),
    IP_MISMATCH: (_P.NEEDS_HUMAN, "IP not bound to the API key"),
    10014: (_P.UNKNOWN, "invalid duplicate request"),
    SERVER_ERROR: (_P.UNKNOWN, "server error or service restarting"),
    10017: (_P.NEEDS_HUMAN, "route not found: wrong path or category for the account"),
    10018: (_P.BACKOFF, "exceeded the IP rate limit"),
    10024: (_P.NEEDS_HUMAN, "compliance rules triggered"),
    10027: (_P.NEEDS_HUMAN, "transactions are banned on this account"),
    10028: (_P.NEEDS_HUMAN, "endpoint only for unified accounts"),
    10029: (_P.NEEDS_HUMAN, "symbol not in the key's symbol whitelist"),
    ORDER_NOT_FOUND: (_P.GONE, "order does not exist"),
    110003: (_P.REJECT, "order price outside the allowed range"),
    110004: (_P.REJECT, "wallet balance insufficient"),
    110005: (_P.REJECT, "position status does not allow it"),
    110006: (_P.REJECT, "assets cannot cover the position margin"),
    INSUFFICIENT_BALANCE: (_P.REJECT, "available balance insufficient"),
    110008: (_P.GONE, "order already completed or cancelled"),
    110009: (_P.REJECT, "too many stop orders"),
    110010: (_P.GONE, "order already cancelled"),
    110012: (_P.REJECT, "insufficient available balance"),
    110016: (_P.REJECT, "quantity exceeds the risk limit"),
    110017: (_P.REJECT, "reduce-only rule not satisfied"),
    110020: (_P.REJECT, "more than 500 active orders"),
    110021: (_P.REJECT, "position limit reached (open interest)"),
    110022: (_P.REJECT, "quantity restricted: cannot increase"),
    110023: (_P.REJECT, "this contract only allows reducing the position"),
    110040: (_P.REJECT, "order would trigger a forced liquidation"),
    110044: (_P.REJECT, "available margin insufficient"),
    110045: (_P.REJECT, "wallet balance insufficient"),
    110066: (_P.REJECT, "trading currently not allowed"),
    DUPLICATE_LINK_ID: (_P.DUPLICATE, "orderLinkId is duplicate"),
    110079: (_P.UNKNOWN, "order is being processed, try again later"),
    110094: (_P.REJECT, "order notional below the minimum"),
    110095: (_P.REJECT, "no pre-market orders during the call auction"),
    # Spot (ASN trades linear perpetuals; listed so a spot key misused here is not guessed at).
    170001: (_P.UNKNOWN, "spot internal error"),
    170005: (_P.BACKOFF, "spot: too many new orders"),
    170007: (_P.UNKNOWN, "spot: timeout waiting for the backend"),
    170121: (_P.REJECT, "spot: invalid symbol"),
    170130: (_P.REJECT, "spot: parameter value invalid"),
    170131: (_P.REJECT, "spot: balance insufficient"),
    170132: (_P.REJECT, "spot: order price too high"),
    170133: (_P.REJECT, "spot: order price below the minimum"),
    170134: (_P.REJECT, "spot: order price has too many decimals"),
    170135: (_P.REJECT, "spot: order quantity too large"),
    170136: (_P.REJECT, "spot: order quantity below the minimum"),
    170137: (_P.REJECT, "spot: order quantity has too many decimals"),
    170140: (_P.REJECT, "spot: order value below the minimum"),
    170141: (_P.DUPLICATE, "spot: duplicate clientOrderId"),
    170213: (_P.GONE, "spot: order does not exist"),
}

#: HTTP statuses answered without a v5 JSON body (Bybit's gateway), same page, "HTTP Code".
HTTP_POLICY: Final[Mapping[int, tuple[Policy, str]]] = {
    401: (_P.NEEDS_HUMAN, "unauthorised: wrong key or missing auth headers"),
    403: (_P.BANNED, "forbidden: IP rate limit breached (Bybit bans the IP for a while)"),
    404: (_P.NEEDS_HUMAN, "path not found: wrong path or category for the account mode"),
    429: (_P.BACKOFF, "system-level frequency protection"),
    500: (_P.UNKNOWN, "internal server error"),
    502: (_P.UNKNOWN, "bad gateway"),
    503: (_P.UNKNOWN, "service unavailable"),
    504: (_P.UNKNOWN, "gateway timeout"),
}


def policy_of(code: int) -> Policy:
    """The policy of a ``retCode`` (``UNKNOWN`` for a code Bybit did not document)."""
    return POLICY.get(code, (Policy.UNKNOWN, ""))[0]


def _error(
    policy: Policy, text: str, code: int, *, create: bool, retry_after_s: float | None
) -> VenueError:
    if policy is Policy.NEEDS_HUMAN:
        return NeedsHumanError(text, code=code)
    if policy is Policy.BANNED:
        return BannedError(text, code=code)
    if policy in (Policy.REJECT, Policy.GONE, Policy.DUPLICATE):
        return OrderRejectedError(text, code=code)
    if policy is Policy.UNKNOWN and create:
        return OrderOutcomeUnknown(text, code=code)
    after = retry_after_s if policy is Policy.RATE_LIMIT else None
    return RetryableVenueError(text, code=code, retry_after_s=after)


def error_for(
    code: int,
    message: str,
    *,
    what: str,
    create: bool = False,
    retry_after_s: float | None = None,
) -> VenueError:
    """The exception for a non-zero ``retCode`` (``what`` names the request, e.g. "create";
    ``create``: the request may have created an order, so "unknown" must be looked up)."""
    policy, meaning = POLICY.get(code, (Policy.UNKNOWN, "undocumented code"))
    text = f"bybit {what}: retCode {code}: {message}"
    if meaning and meaning.lower() not in message.lower():
        text += f" ({meaning})"
    return _error(policy, text, code, create=create, retry_after_s=retry_after_s)


def http_error_for(status: int, *, what: str, create: bool = False) -> VenueError:
    """The exception for an HTTP status that came without a v5 JSON answer."""
    default = Policy.UNKNOWN, "no v5 answer"
    policy, meaning = HTTP_POLICY.get(status, default)
    text = f"bybit {what}: HTTP {status} ({meaning})"
    return _error(policy, text, status, create=create, retry_after_s=None)
