"""Bybit's public order-book archives as journal market events.

Bybit publishes daily order-book archives (``{date}_{SYMBOL}_ob500.data.zip`` for
derivatives, ``ob200`` for spot): NDJSON, one WebSocket v5 message per line, the first a
snapshot, then deltas. ``read_archive`` streams such a file (zip or plain NDJSON; trade
messages ``publicTrade.*`` are understood too) and yields, per symbol, an ``InstrumentInfo``
followed by ``BookSnapshot``/``BookDelta``/``Trade`` events with ``seq=0``.

Archives state no tick or lot size. Unless given, they are inferred from the first message of
a symbol as the finest decimal step it uses (e.g. "1.9537" -> tick 0.0001). A later value
that needs a finer step is an error naming the line, with the hint to pass the real sizes:
values are never rounded.

The archive has no local receive time, so ``ts_local_ns`` is the venue's ``ts`` in ns.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import msgspec

from journal.codec import JournalInt
from journal.decimals import OffGridError, Scale, finest_step
from journal.errors import ArchiveError
from journal.events import BUY, SELL, BookDelta, BookSnapshot, Event, InstrumentInfo, Trade

__all__ = ["ArchiveSource", "BookData", "TradeRow", "read_archive"]


class BookData(msgspec.Struct):
    """Bybit v5 ``orderbook`` message ``data`` (shared with the live feed's parser)."""

    s: str
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    u: JournalInt
    seq: JournalInt = 0


class _BookMessage(msgspec.Struct):
    topic: str
    type: str
    ts: JournalInt
    data: BookData
    cts: JournalInt = 0


class TradeRow(msgspec.Struct):
    """One row of a Bybit v5 ``publicTrade`` message (shared with the live feed's parser)."""

    T: JournalInt
    s: str
    S: str
    v: str
    p: str
    i: str
    BT: bool = False


class _TradeMessage(msgspec.Struct):
    topic: str
    ts: int
    data: list[TradeRow]


_book_decoder: Final = msgspec.json.Decoder(_BookMessage)
_trade_decoder: Final = msgspec.json.Decoder(_TradeMessage)


@dataclass(slots=True)
class _Instrument:
    tick: Scale
    lot: Scale

    def ticks(self, text: str) -> int:
        return self.tick.count(text)

    def lots(self, text: str) -> int:
        return self.lot.count(text)


@dataclass(frozen=True, slots=True)
class ArchiveSource:
    """One input: its path and uncompressed size (for progress bars)."""

    path: Path
    size: int


def _open_lines(path: Path, stack: ExitStack) -> tuple[IO[bytes], int]:
    if not path.exists():
        raise ArchiveError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        try:
            archive = stack.enter_context(zipfile.ZipFile(path))
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise ArchiveError(
                    f"{path}: expected one NDJSON member in the zip, found {len(members)}"
                )
            return stack.enter_context(archive.open(members[0])), members[0].file_size
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ArchiveError(f"{path}: not a readable zip archive ({exc})") from exc
    if path.suffix == ".zip":
        raise ArchiveError(f"{path}: not a readable zip archive (truncated or not a zip)")
    return stack.enter_context(path.open("rb")), path.stat().st_size


def read_archive(
    path: Path,
    *,
    tick_size: str | None = None,
    lot_size: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Event]:
    """Stream the events of one archive. ``progress(n)`` is told of every ``n`` bytes read."""
    instruments: dict[str, _Instrument] = {}
    with ExitStack() as stack:
        lines, _size = _open_lines(path, stack)
        line_no = 0
        try:
            for raw in lines:
                line_no += 1
                if progress is not None:
                    progress(len(raw))
                if not raw.strip():
                    continue
                yield from _events_of_line(raw, instruments, tick_size, lot_size)
        except ArchiveError as exc:
            raise ArchiveError(f"{path}:{line_no}: {exc}") from None
        except OffGridError as exc:
            raise ArchiveError(
                f"{path}:{line_no}: {exc}; pass the real --tick-size/--lot-size"
            ) from None
        except ValueError as exc:  # msgspec decode/validation errors, invalid UTF-8
            raise ArchiveError(f"{path}:{line_no}: malformed message: {exc}") from None
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
            raise ArchiveError(
                f"{path}: archive truncated or damaged after line {line_no} ({exc})"
            ) from None


def archive_size(path: Path) -> int:
    """Uncompressed size in bytes (what ``progress`` will count up to)."""
    with ExitStack() as stack:
        return _open_lines(path, stack)[1]


def _events_of_line(
    raw: bytes,
    instruments: dict[str, _Instrument],
    tick_size: str | None,
    lot_size: str | None,
) -> Iterator[Event]:
    head = raw[:64]
    if b'"orderbook.' in head:
        msg = _book_decoder.decode(raw)
        data = msg.data
        inst = instruments.get(data.s)
        if inst is None:
            inst = _Instrument(
                Scale(tick_size or finest_step(p for p, _ in [*data.b, *data.a])),
                Scale(lot_size or finest_step(q for _, q in [*data.b, *data.a])),
            )
            instruments[data.s] = inst
            yield _instrument_info(data.s, inst, msg.ts)
        if msg.type == "snapshot":
            cls: type[BookSnapshot] | type[BookDelta] = BookSnapshot
        elif msg.type == "delta":
            cls = BookDelta
        else:
            raise ArchiveError(f"unknown order-book message type {msg.type!r}")
        ticks, lots = inst.ticks, inst.lots
        yield cls(
            0,
            msg.ts * 1_000_000,
            data.s,
            data.u,
            data.seq,
            msg.ts,
            msg.cts,
            [ticks(p) for p, _ in data.b],
            [lots(q) for _, q in data.b],
            [ticks(p) for p, _ in data.a],
            [lots(q) for _, q in data.a],
        )
    elif b'"publicTrade.' in head:
        trades = _trade_decoder.decode(raw)
        for t in trades.data:
            inst = instruments.get(t.s)
            if inst is None:
                inst = _Instrument(
                    Scale(tick_size or finest_step([t.p])), Scale(lot_size or finest_step([t.v]))
                )
                instruments[t.s] = inst
                yield _instrument_info(t.s, inst, trades.ts)
            if t.S not in ("Buy", "Sell"):
                raise ArchiveError(f"trade {t.i}: unknown side {t.S!r}")
            yield Trade(
                0,
                t.T * 1_000_000,
                t.s,
                t.i,
                BUY if t.S == "Buy" else SELL,
                inst.ticks(t.p),
                inst.lots(t.v),
                t.T,
                t.BT,
            )
    else:
        raise ArchiveError("not an order-book or public-trade message (no known topic)")


def _instrument_info(symbol: str, inst: _Instrument, ts_ms: int) -> InstrumentInfo:
    return InstrumentInfo(0, ts_ms * 1_000_000, "bybit", symbol, inst.tick.step, inst.lot.step)
