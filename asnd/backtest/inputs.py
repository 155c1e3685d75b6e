"""Journals as backtest input: streamed, never held whole.

Every problem a user can cause is a ``BacktestInputError`` with a one-line message (the CLI
prints it and exits 2). A torn tail (a writer that crashed) is not one: the journal is used
up to the tear and ``warn`` is told, as ``asn-journal`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

from journal.errors import JournalError, JournalNotFound
from journal.events import BookDelta, BookSnapshot, Event, InstrumentInfo, Trade
from journal.reader import JournalReader
from journal.segment import require_journal

__all__ = ["MARKET_KINDS", "BacktestInputError", "journal_events", "market_events", "symbols_in"]

#: What a backtest replays from a journal: the market, nothing we did in it.
MARKET_KINDS: Final = (InstrumentInfo, BookSnapshot, BookDelta, Trade)

Warn = Callable[[str], None]


class BacktestInputError(Exception):
    """A journal, config or strategy that cannot be backtested; the message says why."""


def journal_events(
    paths: Sequence[Path], warn: Warn, kinds: Iterable[type[Event]] | None = None
) -> Iterator[Event]:
    """The events of each journal in turn (of ``kinds``, if given)."""
    for path in paths:
        try:
            require_journal(path)
        except JournalNotFound as exc:  # its message names the path
            raise BacktestInputError(str(exc)) from None
        try:
            reader = JournalReader(path)
            yield from reader.events(kinds=None if kinds is None else tuple(kinds))
        except JournalError as exc:
            raise BacktestInputError(f"{path}: {_one_line(exc)}") from None
        if reader.torn_tail is not None:
            warn(f"warning: {path}: {reader.torn_tail}; using the journal up to it")


def market_events(paths: Sequence[Path], warn: Warn) -> Iterator[Event]:
    """The market events of the journals, in order (journal after journal)."""
    return journal_events(paths, warn, MARKET_KINDS)


def symbols_in(paths: Sequence[Path]) -> set[str]:
    """The symbols the journals describe (their ``InstrumentInfo``). Reading them all up front
    also finds damage before any output is written."""
    quiet: Warn = lambda _text: None  # noqa: E731 - the real run warns
    infos = journal_events(paths, quiet, (InstrumentInfo,))
    return {e.symbol for e in infos if isinstance(e, InstrumentInfo)}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
