"""``asn-journal``: inspect, verify and import journals.

    asn-journal ls DIR                      segments: first seq, size, schema, created
    asn-journal stats DIR                   seq and time range, counts per kind
    asn-journal cat DIR [--kind K]... [--from X] [--to X] [--json] [--follow]
    asn-journal verify DIR                  checks every record; changes nothing
    asn-journal import-bybit OUT FILE...    Bybit order-book archives -> a new journal
    asn-journal prune DIR [--retain-days N] [--retain-bytes SIZE] [--archive DIR] [--dry-run]
                                            remove (or archive) segments below the latest
                                            state snapshot that the limits no longer keep

``--from``/``--to`` take a seq (an integer) or a UTC time (ISO 8601, e.g. 2024-12-01T00:00:05).
Errors are one line on stderr and exit status 2; ``verify`` exits 1 when it found problems.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from tqdm import tqdm

from journal.bybit_archive import archive_size, read_archive
from journal.codec import KINDS, KINDS_BY_NAME, decode, peek_kind
from journal.errors import CorruptJournal, JournalError
from journal.events import Event, kind_name
from journal.reader import JournalReader, follow
from journal.retention import RetainPolicy, latest_snapshot_seq, plan, prune
from journal.segment import HEADER_SIZE, FileScan, ScanEnd, read_frames
from journal.staging import staged_directory
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
    reader = JournalReader(args.journal)
    for info in reader.segments():
        h = info.header
        print(
            f"{info.path.name}  first_seq={h.first_seq}  bytes={info.size}  "
            f"schema={h.major}.{h.minor}  created={_time(h.created_ns)}"
        )
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
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
        for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {name:<20} {n}")
    if reader.torn_tail is not None:
        print(f"warning: {reader.torn_tail}", file=sys.stderr)
    return 0


def _cat_events(args: argparse.Namespace) -> Iterator[Event]:
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


def verify_journal(directory: Path) -> list[str]:
    """Every problem found, one sentence each; an empty list means the journal is sound."""
    reader = JournalReader(directory)
    problems: list[str] = []
    paths = [s.path for s in reader.segments()] if _headers_ok(reader, problems) else []
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
                    problem = _check_record(path, scan.frame_offset, payload, seq)
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
    return problems


def _headers_ok(reader: JournalReader, problems: list[str]) -> bool:
    try:
        reader.segments()
    except CorruptJournal as exc:
        problems.append(str(exc))
        return False
    return True


def _check_record(path: Path, offset: int, payload: memoryview, seq: int) -> str | None:
    where = f"{path}: byte offset {offset}:"
    if peek_kind(payload) not in KINDS:
        return f"{where} record of unknown kind"
    try:
        event_seq = decode(payload).seq
    except ValueError as exc:
        return f"{where} undecodable record ({exc})"
    if event_seq != seq:
        return f"{where} seq {event_seq} where {seq} was expected"
    return None


def _cmd_verify(args: argparse.Namespace) -> int:
    problems = verify_journal(args.journal)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found; nothing was changed", file=sys.stderr)
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


def _cmd_import_bybit(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise JournalError(f"{out} already exists and is not an empty directory")
    for f in args.files:
        if not f.is_file():
            raise JournalError(f"{f}: no such file")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise JournalError(f"cannot create {out}: {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise JournalError(f"cannot write into {parent}: permission denied")
    total = 0
    # Built beside OUT and renamed into place: a killed import leaves no partial journal, only
    # a hidden partial directory that the next import (or backtest) in that parent removes.
    with staged_directory(out) as staging, JournalWriter.open(staging, fsync=False) as writer:
        for path in args.files:
            total += _import_archive(writer, path, args)
        writer.fsync = True
        writer.commit()
    print(f"imported {total} events into {out}")
    return 0


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
