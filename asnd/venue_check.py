"""Asking the configured Bybit account whether it can be traded on (read-only).

``read_answers(config)`` opens its own short-lived REST client (so it works before, and
independently of, the venue's own lifecycle) and reads the account (``asnd.venues.bybit.
account``). Two users of the same findings (``asnd.readiness``):

- ``ensure_ready``: the daemon's start-up gate, ``AccountNotReady`` with one line naming every
  blocking finding and what to change;
- ``check_venue``: ``asnd check-venue --config FILE``, a table of every check plus the open
  orders and positions the journal does not know; exit 0 when trading can start, 1 when
  something must change (or the venue cannot be asked). Only read-only requests are made,
  and the journal is only read.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import TextIO

import structlog
import trio

from asnd.config import Config
from asnd.core.portfolio import DaemonState
from asnd.ctl import table
from asnd.log import configure_logging
from asnd.readiness import (
    AccountNotReady,
    Finding,
    blocking,
    findings,
    journal_findings,
    refusal,
    slots_money,
)
from asnd.recovery import restore_state
from asnd.venues.base import VenueError
from asnd.venues.bybit.account import AccountAnswers, read_account
from asnd.venues.bybit.credentials import load_credentials
from asnd.venues.bybit.rest import BybitRest
from journal.errors import JournalError, JournalNotFound

__all__ = ["check_venue", "ensure_ready", "read_answers"]

_log = structlog.get_logger("asnd.readiness")


async def read_answers(config: Config) -> AccountAnswers:
    settings = config.venue.bybit
    rest = BybitRest(settings.rest_url, load_credentials(), recv_window_ms=settings.recv_window_ms)
    async with rest:
        return await read_account(rest, [s.symbol for s in config.slots])


async def ensure_ready(config: Config, state: DaemonState | None = None) -> list[Finding]:
    """The account's findings for the journal's ``state`` (None: a new journal); raises
    ``AccountNotReady`` if any of them blocks trading."""
    money = slots_money(state, config.slots)
    answers = await read_answers(config)
    found = findings(answers, config.slots, config.venue.bybit.recv_window_ms, money)
    if blocking(found):
        raise AccountNotReady(refusal(found, config.venue.kind))
    _log.info("venue account ready", checks=len(found))
    return found


def _journal_state(config: Config) -> DaemonState | None:
    """The journal's state as the daemon would recover it (None: no journal yet)."""
    from asnd.runtime import core_config  # noqa: PLC0415 -- runtime imports this module

    try:
        return restore_state(core_config(config), config.journal.directory).state
    except JournalNotFound:
        return None


def _known(state: DaemonState | None, answers: AccountAnswers) -> list[Finding]:
    if state is None or not (state.link_namespace or any(s.intents for s in state.slots)):
        # A new journal draws its namespace at start: no order on the account is its own.
        return journal_findings(
            answers, owns=lambda link: False, known_links=frozenset(), journal_positions={}
        )
    positions: dict[str, Decimal] = {}
    for slot in state.slots:
        instrument = state.instruments.get(slot.symbol)
        if slot.ledger is not None and instrument is not None:
            lots = Decimal(slot.ledger.position_lots) * Decimal(instrument.lot_size)
            positions[slot.symbol] = positions.get(slot.symbol, Decimal(0)) + lots
    links = frozenset(link for slot in state.slots for link in slot.orders)
    return journal_findings(
        answers, owns=state.owns, known_links=links, journal_positions=positions
    )


_STATUS = {"ok": "ok", "change": "CHANGE", "note": "note"}


def check_venue(config: Config, out: TextIO = sys.stdout) -> int:
    """``asnd check-venue``: print the table; 0 ready, 1 something must change, 2 no Bybit."""
    if config.venue.kind not in ("bybit", "bybit-testnet"):
        print(f"asnd: check-venue checks a Bybit account; venue.kind is {config.venue.kind!r}",
              file=sys.stderr)  # fmt: skip
        return 2
    configure_logging(config.log.format, "warning")  # the table is the output
    try:
        state = _journal_state(config)
    except JournalError as exc:
        print(f"asnd: cannot read the journal: {exc}", file=sys.stderr)
        return 1
    try:
        answers = trio.run(read_answers, config)
    except VenueError as exc:
        print(f"asnd: cannot check the venue: {exc}", file=sys.stderr)
        return 1
    money = slots_money(state, config.slots)
    found = findings(answers, config.slots, config.venue.bybit.recv_window_ms, money)
    found += _known(state, answers)
    rows = [(f.check, _STATUS[f.status], f.seen, f.change) for f in found]
    print(f"{config.path}: {config.venue.kind} at {config.venue.bybit.rest_url}", file=out)
    print(table(rows, ("CHECK", "STATUS", "SEEN", "CHANGE")), file=out)
    must = blocking(found)
    if must:
        print(f"{len(must)} thing(s) must change before trading (CHANGE above)", file=out)
        return 1
    print("trading can start: `asnd run --config FILE`", file=out)
    return 0
