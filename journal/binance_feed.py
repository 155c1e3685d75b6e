"""Raw Binance market feeds as journal market events.

The input is what hftbacktest's collector writes (gzip or plain text), one message per line::

    <local receive time, ns since epoch> <JSON>

where the JSON is a combined-stream message ``{"stream": ..., "data": {...}}`` (diff depth
``<sym>@depth@0ms``/``@100ms``, ``<sym>@trade``, ``<sym>@bookTicker``) or one REST depth
snapshot ``{"lastUpdateId": ..., "bids": [...], "asks": [...]}`` per session, written when the
response arrived, i.e. after some diffs that it already covers. Several files of one recording
(``btcusdt_20240808.gz``, ``btcusdt_20240809.gz``) are one stream: a later file continues the
book of the earlier one without a snapshot of its own.

Replay rule (Binance's "how to manage a local order book correctly"): take the snapshot, drop
the diffs it covers (futures ``u < lastUpdateId``, spot ``u <= lastUpdateId``); the first diff
kept must straddle it (futures ``U <= lastUpdateId <= u``, spot ``U <= lastUpdateId + 1 <= u``);
after that each diff must continue the previous one (futures ``pu == previous u``, spot
``U == previous u + 1``). A diff that does not is a gap, and a gap is an error naming file and
line: an importer that skipped it would write a book that never existed.

In the journal, ``update_id`` is renumbered contiguously per symbol (the snapshot, then every
applied diff, +1 each), which is the chain ``L2Book`` and the kernel check; Binance's own ``u``
(``lastUpdateId`` for the snapshot) is kept as ``venue_seq``, so the book can be matched to
Binance's ``bookTicker`` (``book_tickers``), which is not journaled. ``venue_ts_ms`` is the
event time ``E``, ``cts_ms`` the transaction time ``T`` (spot has none: ``E``). Diffs received
before the snapshot are journaled after it with the snapshot's receive time: that is when their
book became known. Trades whose ``X`` is not ``MARKET`` (insurance fund, ADL) are not prints
on the book and are left out.

Tick and lot size are not in the feed. Unless given, they are inferred per symbol by a
streaming pre-pass (``survey``) as the finest decimal step any price or size uses; with given
sizes, a value off their grid is an error naming file and line. Nothing is rounded.
"""

from __future__ import annotations

import gzip
import operator
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import msgspec

from journal.codec import JournalInt
from journal.decimals import FinestStep, OffGridError, Scale
from journal.errors import ArchiveError
from journal.events import BUY, SELL, BookDelta, BookSnapshot, Event, InstrumentInfo, Trade

__all__ = [
    "BookTicker",
    "SymbolSurvey",
    "book_tickers",
    "feed_size",
    "read_feeds",
    "survey",
]

#: Diffs kept while waiting for a symbol's first snapshot; a recording without one within
#: this many is not a replayable book (and must not fill memory).
MAX_PENDING_DIFFS: Final = 100_000

Levels = list[tuple[str, str]]


class _DepthDiff(msgspec.Struct):
    E: JournalInt
    s: str
    U: JournalInt
    u: JournalInt
    b: Levels
    a: Levels
    T: JournalInt = 0
    pu: JournalInt | None = None  # futures only: the previous diff's ``u``
    ps: str = ""  # COIN-M only: the pair


class _TradeData(msgspec.Struct):
    s: str
    t: JournalInt
    p: str
    q: str
    T: JournalInt
    m: bool  # the buyer is the maker: the taker sold
    X: str = "MARKET"


class BookTicker(msgspec.Struct):
    """Binance ``bookTicker``: the best bid/ask as of the book's update ``u``."""

    u: JournalInt
    s: str
    b: str
    B: str
    a: str
    A: str


class _Snapshot(msgspec.Struct):
    lastUpdateId: JournalInt  # noqa: N815 (Binance's name)
    bids: Levels
    asks: Levels
    E: JournalInt = 0
    T: JournalInt = 0
    symbol: str = ""  # COIN-M states it; USD-M and spot do not


class _Envelope(msgspec.Struct):
    stream: str
    data: msgspec.Raw


_price: Final = operator.itemgetter(0)
_size: Final = operator.itemgetter(1)
_envelope: Final = msgspec.json.Decoder(_Envelope)
_diff: Final = msgspec.json.Decoder(_DepthDiff)
_trade: Final = msgspec.json.Decoder(_TradeData)
_ticker: Final = msgspec.json.Decoder(BookTicker)
_snapshot: Final = msgspec.json.Decoder(_Snapshot)


# ------------------------------------------------------------------------------ lines


@dataclass(frozen=True, slots=True)
class _Line:
    """One message: where it is, when it arrived, what it is (decoded)."""

    path: Path
    number: int
    recv_ns: int
    message: _DepthDiff | _TradeData | BookTicker | _Snapshot


def _open(path: Path, stack: ExitStack) -> tuple[Iterable[bytes], IO[bytes]]:
    """(lines, the raw file) of a gzip or plain feed file; progress counts raw bytes."""
    if not path.is_file():
        raise ArchiveError(f"{path}: no such file")
    raw = stack.enter_context(path.open("rb"))
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return stack.enter_context(gzip.GzipFile(fileobj=raw)), raw
    raw.seek(0)
    return raw, raw


def feed_size(path: Path) -> int:
    """Bytes ``progress`` counts up to for ``path`` (its size on disk)."""
    if not path.is_file():
        raise ArchiveError(f"{path}: no such file")
    return path.stat().st_size


def _decode(body: bytes) -> _DepthDiff | _TradeData | BookTicker | _Snapshot:
    if body.startswith(b'{"stream"'):
        env = _envelope.decode(body)
        channel = env.stream.partition("@")[2]
        if channel.startswith("depth"):
            return _diff.decode(env.data)
        if channel == "trade":
            return _trade.decode(env.data)
        if channel == "bookTicker":
            return _ticker.decode(env.data)
        raise ArchiveError(f"stream {env.stream!r} is not depth, trade or bookTicker")
    if b'"lastUpdateId"' in body[:32]:
        return _snapshot.decode(body)
    raise ArchiveError("not a Binance combined-stream message or depth snapshot")


def _parse(text: bytes) -> tuple[int, _DepthDiff | _TradeData | BookTicker | _Snapshot]:
    stamp, sep, body = text.partition(b" ")
    if not sep or not stamp.isdigit():
        raise ArchiveError("expected '<receive time ns> <JSON>'")
    return int(stamp), _decode(body)


#: Where a combined-stream line names its stream: within its first bytes (after the time).
_HEAD: Final = 64
_TICKER: Final = b'@bookTicker"'


def _lines(
    paths: Sequence[Path],
    progress: Callable[[int], object] | None,
    *,
    tickers: bool | None = True,
) -> Iterator[_Line]:
    """The messages of the files in order: every line (``tickers`` True), all but bookTicker
    lines (False) or only those (None). Skipped lines are not decoded: that is for the passes
    after ``survey``, which decodes every line."""
    for path in paths:
        number = 0
        with ExitStack() as stack:
            lines, raw = _open(path, stack)
            done = 0
            try:
                for text in lines:
                    number += 1
                    if progress is not None:
                        at = raw.tell()
                        progress(at - done)
                        done = at
                    if tickers is not True and (_TICKER in text[:_HEAD]) != (tickers is None):
                        continue
                    if text.strip():
                        recv_ns, message = _parse(text)
                        yield _Line(path, number, recv_ns, message)
            except ArchiveError as exc:
                raise ArchiveError(f"{path}:{number}: {exc}") from None
            except ValueError as exc:  # msgspec decode/validation errors, invalid UTF-8
                raise ArchiveError(f"{path}:{number}: malformed message: {exc}") from None
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
                raise ArchiveError(
                    f"{path}: truncated or damaged after line {number} ({exc})"
                ) from None


def _snapshot_symbol(snap: _Snapshot, path: Path, depth_symbols: Sequence[str]) -> str:
    """USD-M and spot snapshots do not name their symbol: it is the recording's only symbol
    with diff depth, or else the one in the file name (the collector writes
    ``<symbol>_<yyyymmdd>.gz``)."""
    if snap.symbol:
        return snap.symbol
    if len(depth_symbols) == 1:
        return depth_symbols[0]
    stem = path.name.partition(".")[0]
    return stem.rpartition("_")[0].upper() or stem.upper()


# ----------------------------------------------------------------------------- survey


@dataclass(slots=True)
class SymbolSurvey:
    """What the pre-pass learnt about one symbol."""

    venue: str = "binance"
    prices: FinestStep = field(default_factory=FinestStep)
    sizes: FinestStep = field(default_factory=FinestStep)

    def observe(self, levels: Levels) -> None:
        self.prices.observe_many(map(_price, levels))
        self.sizes.observe_many(map(_size, levels))


def _market(diff: _DepthDiff) -> str:
    if diff.pu is None:
        return "binance-spot"
    return "binance-cm" if diff.ps else "binance-usdm"


def survey(
    paths: Sequence[Path], progress: Callable[[int], object] | None = None
) -> dict[str, SymbolSurvey]:
    """Stream every file once: per symbol its market (``binance-usdm``, ``-cm``, ``-spot``)
    and the finest price and size steps used. Also finds every malformed line before
    anything is written."""
    out: dict[str, SymbolSurvey] = {}
    unnamed: list[tuple[_Snapshot, Path]] = []  # snapshots named once every symbol is known
    for line in _lines(paths, progress):
        msg = line.message
        if isinstance(msg, _DepthDiff):
            s = out.setdefault(msg.s, SymbolSurvey())
            s.venue = _market(msg)
            s.observe(msg.b)
            s.observe(msg.a)
        elif isinstance(msg, _TradeData):
            s = out.setdefault(msg.s, SymbolSurvey())
            s.prices.observe(msg.p)
            s.sizes.observe(msg.q)
        elif isinstance(msg, _Snapshot):
            unnamed.append((msg, line.path))  # one per session: few
    depth = depth_symbols(out)
    for snap, path in unnamed:
        s = out.setdefault(_snapshot_symbol(snap, path, depth), SymbolSurvey())
        s.observe(snap.bids)
        s.observe(snap.asks)
    return out


def depth_symbols(surveyed: dict[str, SymbolSurvey]) -> list[str]:
    """The symbols that have diff depth (a market), in order of appearance."""
    return [symbol for symbol, s in surveyed.items() if s.venue != "binance"]


def book_tickers(paths: Sequence[Path]) -> Iterator[BookTicker]:
    """Every ``bookTicker`` of the feed, in order (for checking a rebuilt book)."""
    for line in _lines(paths, None, tickers=None):
        if isinstance(line.message, BookTicker):
            yield line.message


# ------------------------------------------------------------------------------ replay


@dataclass(slots=True)
class _Book:
    """One symbol's place in Binance's update chain and in the journal's renumbered one."""

    symbol: str
    futures: bool
    tick: Scale
    lot: Scale
    update_id: int = 0  # journal's: the last one written
    last_u: int | None = None  # Binance's ``u`` of the last applied diff
    anchor: int | None = None  # a snapshot's lastUpdateId awaiting its first diff
    pending: list[_Line] = field(default_factory=list)  # diffs before the first snapshot

    # Decimal string -> count, memoised: the same prices and sizes recur in message after
    # message, and a dict hit is far cheaper than parsing. Bounded by clearing.
    tick_memo: dict[str, int] = field(default_factory=dict)
    lot_memo: dict[str, int] = field(default_factory=dict)

    def levels(self, levels: Levels) -> tuple[list[int], list[int]]:
        return (
            [_counted(self.tick, self.tick_memo, p) for p, _ in levels],
            [_counted(self.lot, self.lot_memo, q) for _, q in levels],
        )

    def covered(self, diff: _DepthDiff, last_update_id: int) -> bool:
        """The snapshot already contains this diff."""
        return diff.u < last_update_id if self.futures else diff.u <= last_update_id

    def on_snapshot(self, snap: _Snapshot, recv_ns: int) -> Iterator[Event]:
        self.update_id += 1
        self.anchor = snap.lastUpdateId
        bid_ticks, bid_lots = self.levels(snap.bids)
        ask_ticks, ask_lots = self.levels(snap.asks)
        ts_ms = snap.E or recv_ns // 1_000_000
        yield BookSnapshot(0, recv_ns, self.symbol, self.update_id, snap.lastUpdateId, ts_ms,
                           snap.T or ts_ms, bid_ticks, bid_lots, ask_ticks, ask_lots)  # fmt: skip
        pending, self.pending = self.pending, []
        for line in pending:
            assert isinstance(line.message, _DepthDiff)
            try:
                yield from self.on_diff(line.message, recv_ns)
            except (ArchiveError, OffGridError) as exc:
                raise _Located(line, exc) from None

    def on_diff(self, diff: _DepthDiff, recv_ns: int) -> Iterator[Event]:
        if self.anchor is not None:
            first = self.anchor if self.futures else self.anchor + 1
            if self.covered(diff, self.anchor):
                return
            if not diff.U <= first <= diff.u:
                raise ArchiveError(
                    f"gap in {self.symbol} depth: the first diff after the snapshot "
                    f"(lastUpdateId={self.anchor}) has U={diff.U} u={diff.u}, which does not "
                    f"cover {first}"
                )
            self.anchor = None
        elif self.last_u is None:
            if len(self.pending) >= MAX_PENDING_DIFFS:
                raise ArchiveError(
                    f"no depth snapshot for {self.symbol} within {MAX_PENDING_DIFFS} diffs"
                )
            raise _Pending
        else:
            chained = diff.pu == self.last_u if self.futures else self.last_u + 1 == diff.U
            if not chained:
                was = f"pu={diff.pu}" if self.futures else f"U={diff.U}"
                raise ArchiveError(
                    f"gap in {self.symbol} depth: diff {was} u={diff.u} does not continue "
                    f"the previous diff's u={self.last_u}"
                )
        self.last_u = diff.u
        self.update_id += 1
        bid_ticks, bid_lots = self.levels(diff.b)
        ask_ticks, ask_lots = self.levels(diff.a)
        yield BookDelta(0, recv_ns, self.symbol, self.update_id, diff.u, diff.E, diff.T or diff.E,
                        bid_ticks, bid_lots, ask_ticks, ask_lots)  # fmt: skip


def _counted(scale: Scale, memo: dict[str, int], text: str) -> int:
    n = memo.get(text)
    if n is None:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        n = memo[text] = scale.count(text)
    return n


_MEMO_SIZE: Final = 65_536


class _Located(ArchiveError):
    """An error about an earlier line (a diff kept for the snapshot), already located."""

    def __init__(self, line: _Line, exc: Exception) -> None:
        hint = "; pass the real --tick-size/--lot-size" if isinstance(exc, OffGridError) else ""
        super().__init__(f"{line.path}:{line.number}: {exc}{hint}")


class _Pending(Exception):
    """The diff arrived before the symbol's first snapshot: keep it for later."""


def read_feeds(
    paths: Sequence[Path],
    *,
    tick_size: str | None = None,
    lot_size: str | None = None,
    progress: Callable[[int], object] | None = None,
    surveyed: dict[str, SymbolSurvey] | None = None,
) -> Iterator[Event]:
    """Stream the journal events of one recording (``paths`` in order, one stream).

    Each symbol's ``InstrumentInfo`` comes before its first event. ``surveyed`` is
    ``survey(paths)`` if the caller already ran it (to show its progress); ``progress(n)`` is
    told of every ``n`` bytes read by this pass.
    """
    replay = _Replay(survey(paths) if surveyed is None else surveyed, tick_size, lot_size)
    for line in _lines(paths, progress, tickers=False):
        try:
            yield from replay.on_line(line)
        except _Located:
            raise
        except ArchiveError as exc:
            raise ArchiveError(f"{line.path}:{line.number}: {exc}") from None
        except OffGridError as exc:
            raise ArchiveError(
                f"{line.path}:{line.number}: {exc}; pass the real --tick-size/--lot-size"
            ) from None
    for book in replay.books.values():
        if book.pending:
            first = book.pending[0]
            raise ArchiveError(
                f"{first.path}:{first.number}: no depth snapshot for {book.symbol} in the feed; "
                f"its {len(book.pending)} diff(s) cannot be replayed"
            )


@dataclass(slots=True)
class _Replay:
    symbols: dict[str, SymbolSurvey]
    tick_size: str | None
    lot_size: str | None
    books: dict[str, _Book] = field(default_factory=dict)
    depth: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.depth = depth_symbols(self.symbols)

    def on_line(self, line: _Line) -> Iterator[Event]:
        msg = line.message
        if isinstance(msg, BookTicker):
            return
        if isinstance(msg, _TradeData):
            if msg.X != "MARKET":
                return
            book = yield from self._book(msg.s, line.recv_ns)
            yield Trade(0, line.recv_ns, msg.s, str(msg.t), SELL if msg.m else BUY,
                        _counted(book.tick, book.tick_memo, msg.p),
                        _counted(book.lot, book.lot_memo, msg.q), msg.T)  # fmt: skip
            return
        if isinstance(msg, _DepthDiff):
            symbol = msg.s
        else:
            symbol = _snapshot_symbol(msg, line.path, self.depth)
        book = yield from self._book(symbol, line.recv_ns)
        if isinstance(msg, _Snapshot):
            yield from book.on_snapshot(msg, line.recv_ns)
            return
        try:
            yield from book.on_diff(msg, line.recv_ns)
        except _Pending:
            book.pending.append(line)

    def _book(self, symbol: str, recv_ns: int) -> Generator[Event, None, _Book]:
        """The symbol's book state; yields its ``InstrumentInfo`` if this is its first event."""
        book = self.books.get(symbol)
        if book is not None:
            return book
        found = self.symbols.get(symbol)
        if found is None:  # the survey read the same lines: only a file changed meanwhile
            raise ArchiveError(f"{symbol} was not in the feed when it was surveyed")
        book = _Book(
            symbol,
            found.venue != "binance-spot",
            Scale(self.tick_size or found.prices.step),
            Scale(self.lot_size or found.sizes.step),
        )
        self.books[symbol] = book
        yield InstrumentInfo(0, recv_ns, found.venue, symbol, book.tick.step, book.lot.step)
        return book
