"""Asking the configured Bybit account whether it can be traded on (read-only).

``read_answers(config)`` opens its own short-lived REST client (so it works before, and
independently of, the venue's own lifecycle) and reads the account (``asnd.venues.bybit.
account``). ``ensure_ready`` is the daemon's start-up gate: ``AccountNotReady`` with one line
naming every blocking finding of ``asnd.readiness`` and what to change.
"""

from __future__ import annotations

import structlog

from asnd.config import Config
from asnd.readiness import AccountNotReady, Finding, blocking, findings, refusal
from asnd.venues.bybit.account import AccountAnswers, read_account
from asnd.venues.bybit.credentials import load_credentials
from asnd.venues.bybit.rest import BybitRest

__all__ = ["ensure_ready", "read_answers"]

_log = structlog.get_logger("asnd.readiness")


async def read_answers(config: Config) -> AccountAnswers:
    settings = config.venue.bybit
    rest = BybitRest(settings.rest_url, load_credentials(), recv_window_ms=settings.recv_window_ms)
    async with rest:
        return await read_account(rest, [s.symbol for s in config.slots])


async def ensure_ready(config: Config) -> list[Finding]:
    """The account's findings; raises ``AccountNotReady`` if any of them blocks trading."""
    found = findings(await read_answers(config), config.slots, config.venue.bybit.recv_window_ms)
    if blocking(found):
        raise AccountNotReady(refusal(found, config.venue.kind))
    _log.info("venue account ready", checks=len(found))
    return found
