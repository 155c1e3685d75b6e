"""Bybit's public daily trade archives (``public.bybit.com/trading/{SYMBOL}/{SYMBOL}{date}.csv.gz``)
as journal ``Trade`` events, merged in time with that day's order-book archive.

The CSV has a header and one row per trade: ``timestamp,symbol,side,size,price,tickDirection,
trdMatchID,grossValue,homeNotional,foreignNotional`` (newer files add columns, which are
ignored), ``timestamp`` in seconds with a fraction (``1733011200.0974``). Prices and sizes
are converted on the grid of the order-book archive's ``InstrumentInfo``: a trade off it is
an error naming the line. Rows must be in time order (merging needs it); one that is not is an
error too, never reordered in memory.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from journal.decimals import OffGridError, Scale, to_units
from journal.errors import ArchiveError
from journal.events import BUY, SELL, Event, InstrumentInfo, Trade

__all__ = ["read_trade_csv", "with_trades"]

_COLUMNS = ("timestamp", "symbol", "side", "size", "price")


def read_trade_csv(path: Path, info: InstrumentInfo) -> Iterator[Trade]:
    """The trades of ``info.symbol`` in ``path`` (.csv.gz or .csv), in time order."""
    at = [1]  # the line being read, for errors
    try:
        with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as f:
            yield from _trades(csv.reader(f), info, at)
    except ArchiveError as exc:
        raise ArchiveError(f"{path}:{at[0]}: {exc}") from None
    except OffGridError as exc:
        raise ArchiveError(f"{path}:{at[0]}: {exc}; pass the real --tick-size/--lot-size") from None
    except (ValueError, IndexError) as exc:
        raise ArchiveError(f"{path}:{at[0]}: malformed trade row ({exc})") from None
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError, csv.Error) as exc:
        raise ArchiveError(f"{path}: truncated or damaged after line {at[0]} ({exc})") from None


def _trades(rows: Iterator[list[str]], info: InstrumentInfo, at: list[int]) -> Iterator[Trade]:
    header = next(rows, None)
    if header is None or tuple(header[:5]) != _COLUMNS or "trdMatchID" not in header:
        raise ArchiveError(f"not a Bybit trade archive (header {header})")
    match_id = header.index("trdMatchID")
    tick, lot = Scale(info.tick_size), Scale(info.lot_size)
    last_ns = 0
    for row in rows:
        at[0] += 1
        trade = _trade(row, match_id, info.symbol, tick, lot)
        if trade.ts_local_ns < last_ns:
            raise ArchiveError("trades are not in time order")
        last_ns = trade.ts_local_ns
        yield trade


def _trade(row: list[str], match_id: int, symbol: str, tick: Scale, lot: Scale) -> Trade:
    if row[1] != symbol:
        raise ArchiveError(f"a trade of {row[1]!r} in the archive of {symbol}")
    if row[2] not in ("Buy", "Sell"):
        raise ArchiveError(f"unknown side {row[2]!r}")
    ns = to_units(row[0], 9)
    return Trade(0, ns, symbol, row[match_id], BUY if row[2] == "Buy" else SELL,
                 tick.count(row[4]), lot.count(row[3]), ns // 1_000_000)  # fmt: skip


def with_trades(book: Iterable[Event], trades: Path) -> Iterator[Event]:
    """One day's order-book events (``read_archive``: its ``InstrumentInfo`` first) and that
    day's trades, merged by ``ts_local_ns`` (book first on a tie), streaming."""
    events = iter(book)
    info = next(events, None)
    if not isinstance(info, InstrumentInfo):
        raise ArchiveError(f"{trades}: the order-book archive of its day has no instrument")
    yield info
    yield from heapq.merge(events, read_trade_csv(trades, info), key=_time)


def _time(event: Event) -> int:
    return event.ts_local_ns
