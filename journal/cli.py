"""``asn-journal``: inspect, verify and import journals.

    asn-journal ls DIR                      segments: first seq, size, schema, created
    asn-journal stats DIR                   seq and time range, counts per kind
    asn-journal cat DIR [--kind K]... [--from X] [--to X] [--json] [--follow]
    asn-journal verify DIR                  checks every record; changes nothing
    asn-journal import-bybit OUT FILE...    Bybit order-book archives -> a new journal
    asn-journal import-binance OUT FILE...  raw Binance feeds (one recording) -> a new journal
    asn-journal download-bybit SYMBOL DATE... --out OUT   Bybit's daily archives -> a journal
    asn-journal prune DIR [--retain-days N] [--retain-bytes SIZE] [--archive DIR] [--dry-run]
                                            remove (or archive) segments below the latest
                                            state snapshot that the limits no longer keep

``--from``/``--to`` take a seq (an integer) or a UTC time (ISO 8601, e.g. 2024-12-01T00:00:05).
Errors are one line on stderr and exit status 2 (a missing or empty journal directory
included); ``verify`` prints what it read (segments, records by kind, seq range) and exits 1
when it found problems.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Never

import msgspec
from tqdm import tqdm

from journal import __version__
from journal.binance_feed import feed_size, read_feeds, survey
from journal.bybit_archive import archive_size, read_archive
from journal.bybit_download import (
    ORDERBOOK_BASE,
    TRADES_BASE,
    NotFound,
    fetch,
    orderbook_url,
    trades_url,
)
from journal.bybit_trades import with_trades
from journal.codec import KINDS, KINDS_BY_NAME, decode, peek_kind
from journal.errors import CorruptJournal, JournalError
from journal.events import Event, InstrumentInfo, kind_name
from journal.reader import JournalReader, follow
from journal.retention import RetainPolicy, latest_snapshot_seq, plan, prune
from journal.segment import HEADER_SIZE, FileScan, ScanEnd, read_frames, require_journal
from journal.staging import staged_directory
from journal.texttable import render_table
from journal.writer import JournalWriter

__all__ = ["main"]


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="milliseconds")


def _bound(text: str | None) -> tuple[int | None, int | None]:
    """(seq, ts_ns) from a --from/--to argument."""
    if text is None:
        return None, None
    if text.isdigit():
        return int(text), None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise JournalError(f"--from/--to: {text!r} is neither a seq nor an ISO time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return None, int(moment.timestamp() * 1e9)


def _kinds(names: Sequence[str] | None) -> list[type[Event]] | None:
    if not names:
        return None
    out = []
    for name in names:
        if name not in KINDS_BY_NAME:
            known = ", ".join(sorted(KINDS_BY_NAME))
            raise JournalError(f"unknown kind {name!r}; known kinds: {known}")
        out.append(KINDS_BY_NAME[name])
    return out


def _short(value: object) -> str:
    if isinstance(value, list):
        head = ", ".join(map(str, value[:3]))
        more = f", ...+{len(value) - 3}" if len(value) > 3 else ""
        return f"[{head}{more}]"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value) if isinstance(value, str) else str(value)


def human_line(event: Event) -> str:
    fields = msgspec.structs.asdict(event)
    seq = fields.pop("seq")
    ts = fields.pop("ts_local_ns")
    body = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
    return f"{seq:>10} {_time(ts)} {kind_name(type(event)):<18} {body}"


_json = msgspec.json.Encoder()


def json_line(event: Event) -> bytes:
    fields = msgspec.structs.asdict(event)
    return _json.encode({"kind": kind_name(type(event)), **fields})


def _cmd_ls(args: argparse.Namespace) -> int:
    require_journal(args.journal)
    reader = JournalReader(args.journal)
    rows = [
        (
            info.path.name,
            info.header.first_seq,
            info.size,
            f"{info.header.major}.{info.header.minor}",
            _time(info.header.created_ns),
        )
        for info in reader.segments()
    ]
    print(render_table(("SEGMENT", "FIRST_SEQ", "BYTES", "SCHEMA", "CREATED"), rows))
    return 0


def _kind_counts(counts: Mapping[str, int], column: str) -> str:
    """Records per kind, most first (ties by name), as a table under ``KIND  <column>``."""
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return render_table(("KIND", column), rows)


def _cmd_stats(args: argparse.Namespace) -> int:
    require_journal(args.journal)
    reader = JournalReader(args.journal)
    segments = reader.segments()
    counts: Counter[str] = Counter()
    first: Event | None = None
    last: Event | None = None
    ts_min = ts_max = None
    for event in reader.events():
        if first is None:
            first = event
        last = event
        counts[kind_name(type(event))] += 1
        ts = event.ts_local_ns
        ts_min = ts if ts_min is None else min(ts_min, ts)
        ts_max = ts if ts_max is None else max(ts_max, ts)
    print(f"journal   {args.journal}")
    print(f"segments  {len(segments)} ({sum(s.size for s in segments)} bytes)")
    if first is None or last is None or ts_min is None or ts_max is None:
        print("events    0")
    else:
        print(f"events    {sum(counts.values())}  seq {first.seq}..{last.seq}")
        print(f"time      {_time(ts_min)} .. {_time(ts_max)}")
        print(_kind_counts(counts, "EVENTS"))
    if reader.torn_tail is not None:
        print(f"warning: {reader.torn_tail}", file=sys.stderr)
    return 0


def _cat_events(args: argparse.Namespace) -> Iterator[Event]:
    require_journal(args.journal)
    from_seq, from_ts = _bound(args.from_)
    to_seq, to_ts = _bound(args.to)
    kinds = _kinds(args.kind)
    if args.follow:
        for event in follow(args.journal, from_seq=from_seq or 0, kinds=kinds):
            if (from_ts is None or event.ts_local_ns >= from_ts) and (
                to_seq is None or event.seq <= to_seq
            ):
                yield event
            if to_seq is not None and event.seq >= to_seq:
                return
        return
    reader = JournalReader(args.journal)
    yield from reader.events(
        from_seq=from_seq or 0, to_seq=to_seq, from_ts_ns=from_ts, to_ts_ns=to_ts, kinds=kinds
    )
    if reader.torn_tail is not None:
        print(f"warning: {reader.torn_tail}", file=sys.stderr)


def _cmd_cat(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    for event in _cat_events(args):
        if args.json:
            out.write(json_line(event) + b"\n")
        else:
            out.write(human_line(event).encode() + b"\n")
        if args.follow:
            out.flush()
    return 0


@dataclass(slots=True)
class JournalCheck:
    """What ``verify`` found: its problems, and what it read (the counts it prints)."""

    problems: list[str] = field(default_factory=list)
    segments: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    first_seq: int | None = None
    last_seq: int | None = None

    @property
    def records(self) -> int:
        return sum(self.by_kind.values())


def verify_journal(directory: Path) -> list[str]:
    """Every problem found, one sentence each; an empty list means the journal is sound."""
    return check_journal(directory).problems


def check_journal(directory: Path) -> JournalCheck:
    """Read every record of a journal, checking frames, checksums, kinds and seqs."""
    require_journal(directory)
    reader = JournalReader(directory)
    check = JournalCheck()
    problems = check.problems
    paths = [s.path for s in reader.segments()] if _headers_ok(reader, problems) else []
    check.segments = len(paths)
    expected: int | None = None
    for i, path in enumerate(paths):
        first = int(path.stem)
        if expected is not None and first != expected:
            problems.append(
                f"{path}: starts at seq {first}, previous segment ended at {expected - 1}"
            )
        seq = first
        scan = FileScan()
        with path.open("rb") as f:
            try:
                for payload in read_frames(path, f.fileno(), HEADER_SIZE, scan):
                    problem = _check_record(path, scan.frame_offset, payload, seq, check)
                    if problem:
                        problems.append(problem)
                    seq += 1
            except CorruptJournal as exc:
                problems.append(str(exc))
                expected = None
                continue
        if scan.end is not ScanEnd.CLEAN:
            last = i == len(paths) - 1
            what = "torn tail record" if last else "damaged record in a sealed segment"
            problems.append(
                f"{path}: {what} at byte offset {scan.good_end} ({scan.tail_bytes} bytes)"
            )
        expected = seq
    return check


def _headers_ok(reader: JournalReader, problems: list[str]) -> bool:
    try:
        reader.segments()
    except CorruptJournal as exc:
        problems.append(str(exc))
        return False
    return True


def _check_record(
    path: Path, offset: int, payload: memoryview, seq: int, check: JournalCheck
) -> str | None:
    where = f"{path}: byte offset {offset}:"
    if peek_kind(payload) not in KINDS:
        return f"{where} record of unknown kind"
    try:
        event = decode(payload)
    except ValueError as exc:
        return f"{where} undecodable record ({exc})"
    check.by_kind[kind_name(type(event))] += 1
    check.first_seq = event.seq if check.first_seq is None else check.first_seq
    check.last_seq = event.seq
    if event.seq != seq:
        return f"{where} seq {event.seq} where {seq} was expected"
    return None


def _cmd_verify(args: argparse.Namespace) -> int:
    check = check_journal(args.journal)
    for p in check.problems:
        print(p)
    seqs = f"seq {check.first_seq}..{check.last_seq}" if check.records else "no seq"
    print(f"segments  {check.segments}")
    print(f"records   {check.records}  {seqs}")
    if check.by_kind:
        print(_kind_counts(check.by_kind, "RECORDS"))
    if check.problems:
        print(f"{len(check.problems)} problem(s) found; nothing was changed", file=sys.stderr)
        return 1
    print(f"{args.journal}: ok")
    return 0


def _import_archive(writer: JournalWriter, path: Path, args: argparse.Namespace) -> int:
    """Append one archive's events; returns how many."""
    count = 0
    size = archive_size(path)
    with tqdm(
        total=size, unit="B", unit_scale=True, desc=path.name, disable=None, leave=False
    ) as bar:

        def advance(n: int, bar: tqdm[None] = bar) -> None:  # type: ignore[assignment]
            bar.update(n)

        for event in read_archive(
            path, tick_size=args.tick_size, lot_size=args.lot_size, progress=advance
        ):
            writer.append(event)
            count += 1
    return count


def _check_import_target(out: Path, files: Sequence[Path]) -> None:
    """Refuse before any work an import that could not be published or read."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise JournalError(f"{out} already exists and is not an empty directory")
    for f in files:
        if not f.is_file():
            raise JournalError(f"{f}: no such file")
    parent = out.resolve().parent
    try:  # like `asnd backtest --out`: missing parents are created (`var/` on a fresh checkout)
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise JournalError(f"cannot create {out}: {parent} is not a directory") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise JournalError(f"cannot write into {parent}: permission denied")


def _staged_import(out: Path, fill: Callable[[JournalWriter], int]) -> int:
    """A new journal at ``out`` holding what ``fill`` appends, published whole or not at all."""
    # Built beside OUT and renamed into place: a killed import leaves no partial journal, only
    # a hidden partial directory that the next import (or backtest) in that parent removes.
    with staged_directory(out) as staging, JournalWriter.open(staging, fsync=False) as writer:
        total = fill(writer)
        writer.fsync = True
        writer.commit()
    print(f"imported {total} events into {out}")
    return 0


def _cmd_import_bybit(args: argparse.Namespace) -> int:
    _check_import_target(args.out, args.files)

    def fill(writer: JournalWriter) -> int:
        return sum(_import_archive(writer, path, args) for path in args.files)

    return _staged_import(args.out, fill)


def _bytes_bar(total: int, desc: str) -> tqdm[Never]:
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=None, leave=False)


def _cmd_import_binance(args: argparse.Namespace) -> int:
    files: list[Path] = args.files
    _check_import_target(args.out, files)
    total_bytes = sum(feed_size(f) for f in files)

    def fill(writer: JournalWriter) -> int:
        # Two streaming passes: the survey infers tick/lot sizes (and finds malformed lines)
        # before the first event is written, the second writes.
        with _bytes_bar(total_bytes, "survey") as bar:
            surveyed = survey(files, progress=bar.update)
        count = 0
        with _bytes_bar(total_bytes, "import") as bar:
            for event in read_feeds(
                files,
                tick_size=args.tick_size,
                lot_size=args.lot_size,
                progress=bar.update,
                surveyed=surveyed,
            ):
                if isinstance(event, InstrumentInfo):  # the grid, so a wrong guess shows
                    print(
                        f"{event.symbol} ({event.venue}): tick {event.tick_size}, "
                        f"lot {event.lot_size}"
                    )
                writer.append(event)
                count += 1
        return count

    return _staged_import(args.out, fill)


def _archive_bar(desc: str) -> tuple[tqdm[Never], Callable[[int, int], None]]:
    """A byte progress bar whose total is set when the server states the size."""
    bar = _bytes_bar(0, desc)

    def on_total(total: int, have: int) -> None:
        bar.reset(total=total or None)
        bar.update(have)

    return bar, on_total


def _download(url: str, args: argparse.Namespace) -> Path:
    bar, on_total = _archive_bar(url.rsplit("/", 1)[1])
    with bar:
        got = fetch(url, args.cache, retries=args.retries, on_total=on_total, on_bytes=bar.update)
    if got.resumed_from == got.size:
        how = "already in the cache"
    elif got.resumed_from or got.requests > 1:
        how = f"resumed at byte {got.resumed_from}, {got.requests} requests"
    else:
        how = "new"
    md5 = ", MD5 checked" if got.md5_checked else ""
    print(f"{got.path.name}: {got.size} bytes ({how}{md5}, CRC-32 checked)")
    return got.path


def _cmd_download_bybit(args: argparse.Namespace) -> int:
    symbol: str = args.symbol.upper()
    if not re.fullmatch(r"[A-Z0-9]{2,30}", symbol):
        raise JournalError(f"{args.symbol!r} is not a Bybit symbol (letters and digits)")
    dates: list[str] = []
    for text in args.dates:
        try:
            dates.append(date.fromisoformat(text).isoformat())
        except ValueError:
            raise JournalError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    _check_import_target(args.out, [])
    depths = [args.depth] if args.depth else [500, 200] if args.category == "linear" else [200]
    days: list[tuple[Path, Path | None]] = []
    for day in dates:
        for i, depth in enumerate(depths):
            url = orderbook_url(args.orderbook_base, args.category, symbol, day, depth)
            try:
                book = _download(url, args)
                break
            except NotFound:
                if i == len(depths) - 1:
                    raise  # Bybit switched some symbols from ob500 to ob200: tried both
        trades = _download(trades_url(args.trades_base, symbol, day), args) if args.trades else None
        days.append((book, trades))

    def fill(writer: JournalWriter) -> int:
        count = 0
        for book, trades in days:
            events = read_archive(book, tick_size=args.tick_size, lot_size=args.lot_size)
            for event in events if trades is None else with_trades(events, trades):
                writer.append(event)
                count += 1
        return count

    return _staged_import(args.out, fill)


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    """``500M``, ``2G``, ``1048576``: bytes (binary units)."""
    number, unit = text.rstrip("KMGTkmgtBb"), text[len(text.rstrip("KMGTkmgtBb")) :]
    unit = unit.upper().rstrip("B")
    if not number.isdigit() or unit not in _SIZE_UNITS or int(number) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 500M, 2G, 1048576)")
    return int(number) * _SIZE_UNITS[unit]


def _cmd_prune(args: argparse.Namespace) -> int:
    try:
        policy = RetainPolicy(args.retain_days, args.retain_bytes)
    except ValueError as exc:
        raise JournalError(str(exc)) from None
    if not policy.active:
        raise JournalError("give --retain-days and/or --retain-bytes: nothing would be pruned")
    reader = JournalReader(args.journal)
    segments = reader.segments()
    if not segments:
        raise JournalError(f"{args.journal} holds no journal segments")
    snapshot = latest_snapshot_seq(args.journal)
    chosen = plan(segments, policy, snapshot, time.time_ns())
    verb = "would remove" if args.dry_run else ("archived" if args.archive else "removed")
    if not chosen.remove:
        print(f"{args.journal}: nothing to prune ({chosen.kept_because})")
        return 0
    removed = chosen.remove
    stopped = None
    if not args.dry_run:
        result = prune(args.journal, chosen, args.archive)
        removed = tuple(s for s in chosen.remove if s.path in result.removed)
        stopped = result.stopped_at
    first_kept = segments[len(removed)].header.first_seq if len(removed) < len(segments) else None
    print(
        f"{args.journal}: {verb} {len(removed)} of {len(segments)} segments "
        f"({sum(s.size for s in removed)} bytes, seqs below {first_kept}); latest snapshot "
        f"covers seq {snapshot}"
        + (f"; {args.archive}" if args.archive and not args.dry_run else "")
    )
    if stopped is not None:
        print(f"stopped at {stopped.name}: a reader has it open; run again later")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asn-journal", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ls", help="list segments")
    p.add_argument("journal", type=Path)
    p.set_defaults(func=_cmd_ls)

    p = sub.add_parser("stats", help="seq and time range, counts per kind")
    p.add_argument("journal", type=Path)
    p.set_defaults(func=_cmd_stats)

    p = sub.add_parser("cat", help="print events")
    p.add_argument("journal", type=Path)
    p.add_argument("--kind", action="append", help="only this kind (repeatable), e.g. book_delta")
    p.add_argument("--from", dest="from_", metavar="SEQ|TIME", help="first seq or UTC time")
    p.add_argument("--to", metavar="SEQ|TIME", help="last seq or UTC time")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    p.set_defaults(func=_cmd_cat)

    p = sub.add_parser("verify", help="check every record; changes nothing")
    p.add_argument("journal", type=Path)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("import-bybit", help="Bybit order-book archives -> a new journal")
    p.add_argument("out", type=Path, help="new journal directory")
    p.add_argument(
        "files", type=Path, nargs="+", help="*_ob500.data.zip, *_ob200.data.zip or NDJSON"
    )
    p.add_argument("--tick-size", help="price step, e.g. 0.0001 (default: inferred)")
    p.add_argument("--lot-size", help="size step, e.g. 0.1 (default: inferred)")
    p.set_defaults(func=_cmd_import_bybit)

    p = sub.add_parser(
        "import-binance", help="raw Binance feeds (hftbacktest collector) -> a new journal"
    )
    p.add_argument("out", type=Path, help="new journal directory")
    p.add_argument(
        "files",
        type=Path,
        nargs="+",
        help="<symbol>_<yyyymmdd>.gz files of one recording, in order (one stream)",
    )
    p.add_argument("--tick-size", help="price step, e.g. 0.1 (default: inferred per symbol)")
    p.add_argument("--lot-size", help="size step, e.g. 0.001 (default: inferred per symbol)")
    p.set_defaults(func=_cmd_import_binance)

    p = sub.add_parser(
        "download-bybit", help="Bybit's daily public order-book archives -> a new journal"
    )
    p.add_argument("symbol", help="e.g. BTCUSDT")
    p.add_argument("dates", nargs="+", metavar="DATE", help="UTC days, YYYY-MM-DD")
    p.add_argument("--out", type=Path, required=True, help="new journal directory")
    p.add_argument("--category", choices=["linear", "spot"], default="linear")
    p.add_argument("--depth", type=int, help="archive depth (default: 500, else 200; spot 200)")
    p.add_argument(
        "--cache",
        type=Path,
        default=Path("var/bybit-archives"),
        help="where archives are kept (and resumed); default var/bybit-archives",
    )
    p.add_argument("--retries", type=int, default=3, help="resumes after a dropped connection")
    p.add_argument(
        "--orderbook-base",
        default=ORDERBOOK_BASE,
        metavar="URL",
        help=f"where the order-book archives are (default {ORDERBOOK_BASE}; a mirror)",
    )
    p.add_argument(
        "--trades", action="store_true", help="also the day's trade archive, merged in time"
    )
    p.add_argument(
        "--trades-base",
        default=TRADES_BASE,
        metavar="URL",
        help=f"where the trade archives are (default {TRADES_BASE}; a mirror)",
    )
    p.add_argument("--tick-size", help="price step, e.g. 0.0001 (default: inferred)")
    p.add_argument("--lot-size", help="size step, e.g. 0.1 (default: inferred)")
    p.set_defaults(func=_cmd_download_bybit)
    p = sub.add_parser("prune", help="remove or archive old segments below the latest snapshot")
    p.add_argument("journal", type=Path)
    p.add_argument("--retain-days", type=float, metavar="N", help="keep segments younger")
    p.add_argument("--retain-bytes", type=_size, metavar="SIZE", help="keep at most (e.g. 2G)")
    p.add_argument("--archive", type=Path, metavar="DIR", help="move segments here instead")
    p.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    p.set_defaults(func=_cmd_prune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except JournalError as exc:
        print(f"asn-journal: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `asn-journal cat ... | head`: the reader has had enough
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"asn-journal: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
