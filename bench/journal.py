"""Journal throughput and durable-append latency, beside raw msgpack in the same run.

Events: a seeded stream of Bybit-shaped book deltas (5-20 levels a side) and trades.
- append: ``JournalWriter.append`` (seq stamping, msgspec encoding, framing, CRC-32C, writes
  and one fsync per 1 MiB batch) vs ``msgpack.Packer`` packing the same events' arrays.
- read: ``JournalReader.events`` (block reads, CRC check, typed decode, seq check) vs a
  streaming ``msgpack.Unpacker`` over the packed bytes (no checksums, untyped lists).
- durable latency: ``JournalService.append_durable`` from trio with 1 and 16 concurrent
  producers (group commit: many appends share one fsync).

Run: ``.venv/bin/python -m bench.journal [--events N]``; prints JSON lines.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgpack
import msgspec
import trio
from crc32c import crc32c

from bench._common import best_of, emit
from bench._events import market_events
from journal.codec import decode_unchecked, encode
from journal.events import BookDelta, BookSnapshot, Event, InstrumentInfo, Trade
from journal.reader import JournalReader
from journal.segment import FRAME, HEADER_SIZE, segment_paths
from journal.service import JournalService
from journal.writer import JournalWriter

BENCH = "journal"


def _restamp(events: list[Event]) -> None:
    # append() stamps in place only events whose seq is 0: reset for the next repeat.
    for e in events:
        msgspec.structs.force_setattr(e, "seq", 0)


def throughput(n: int, workdir: Path) -> None:
    events = market_events(n)
    arrays = [msgspec.msgpack.decode(encode(e)) for e in events]
    packed = bytearray()
    counter = {"round": 0}

    def raw_pack() -> None:
        packer = msgpack.Packer()
        buf = bytearray()
        for a in arrays:
            buf += packer.pack(a)
        packed[:] = buf

    def ours_append() -> None:
        counter["round"] += 1
        target = workdir / f"j{counter['round']}"
        _restamp(events)
        with JournalWriter.open(target) as w:
            for e in events:
                w.append(e)
        shutil.rmtree(workdir / f"j{counter['round'] - 1}", ignore_errors=True)

    t_raw, t_ours = best_of(5, raw_pack, ours_append)
    journal = workdir / f"j{counter['round']}"
    size = sum(p.stat().st_size for p in journal.glob("*.seg"))
    emit(
        BENCH, "append",
        events=n, events_per_s=round(n / t_ours), mb_per_s=round(size / t_ours / 1e6, 1),
        ref="msgpack.Packer", ref_events_per_s=round(n / t_raw),
        ref_mb_per_s=round(len(packed) / t_raw / 1e6, 1), ratio=round(t_raw / t_ours, 3),
        goal_ratio=0.7, note="ours includes CRC-32C framing, writes and one fsync per MiB",
    )  # fmt: skip

    reader = JournalReader(journal)
    counts = {"ours": 0, "raw": 0}

    def ours_read() -> None:
        c = 0
        for _ in reader.events():
            c += 1
        counts["ours"] = c

    def raw_unpack() -> None:
        unpacker = msgpack.Unpacker()
        view = memoryview(packed)
        c = 0
        for i in range(0, len(packed), 1 << 20):
            unpacker.feed(view[i : i + (1 << 20)])
            for _ in unpacker:
                c += 1
        counts["raw"] = c

    t_raw, t_ours = best_of(5, raw_unpack, ours_read)
    assert counts["ours"] == counts["raw"] == n
    read_rss = _reader_peak_rss(journal)
    emit(
        BENCH, "read",
        events=n, events_per_s=round(n / t_ours), mb_per_s=round(size / t_ours / 1e6, 1),
        ref="msgpack.Unpacker (streaming)", ref_events_per_s=round(n / t_raw),
        ref_mb_per_s=round(len(packed) / t_raw / 1e6, 1), ratio=round(t_raw / t_ours, 3),
        goal_ratio=0.7, note="ours verifies CRC-32C and seq, decodes to typed events",
        reader_process_peak_rss_mib=read_rss, journal_mib=round(size / 2**20, 1),
    )  # fmt: skip
    _read_breakdown(journal, n, raw_unpack, ours_read)
    _read_by_kind(journal, ours_read)


def _read_by_kind(journal: Path, ours_read: Callable[[], None]) -> None:
    """Filtered replays beside the unfiltered one: the market kinds (what backtests and the
    evolution dataset read; every bench record matches) and trades only (a fifth match)."""
    reader = JournalReader(journal)
    counts: dict[str, int] = {}

    def by(name: str, kinds: tuple[type[Event], ...]) -> Callable[[], None]:
        def run() -> None:
            counts[name] = sum(1 for _ in reader.events(kinds=kinds))

        return run

    market = (InstrumentInfo, BookSnapshot, BookDelta, Trade)
    t_all, t_market, t_trades = best_of(5, ours_read, by("market", market), by("trades", (Trade,)))
    for name, t in (("market", t_market), ("trades", t_trades)):
        emit(
            BENCH, f"read_kinds_{name}",
            events=counts[name], seconds=round(t, 3), ref="JournalReader.events() unfiltered",
            ref_seconds=round(t_all, 3), ratio=round(t_all / t, 3),
            note="every record is framed and CRC-checked; only the kinds asked for are decoded",
        )  # fmt: skip


def _read_breakdown(
    journal: Path, n: int, raw_unpack: Callable[[], None], ours_read: Callable[[], None]
) -> None:
    """Where a replayed record's time goes: the reader's loop rebuilt stage by stage over the
    segments' bytes in memory, beside the reader and msgpack.Unpacker, in the same run.

    The stages do not add up: crc32c alone costs less than what it adds to a loop that also
    decodes (both are C calls on the same slice; the difference is the CPU's, not Python's).
    """
    bodies = [path.read_bytes()[HEADER_SIZE:] for path in segment_paths(journal)]
    payloads: list[bytes] = []
    unpack = FRAME.unpack_from
    decode = decode_unchecked
    for body in bodies:
        pos = 0
        while pos < len(body):
            length = unpack(body, pos)[0]
            payloads.append(body[pos + 8 : pos + 8 + length])
            pos += 8 + length

    def decode_only() -> None:
        for payload in payloads:
            decode(payload)

    def crc_only() -> None:
        for payload in payloads:
            crc32c(payload)

    def walk(check: bool, decoding: bool) -> Callable[[], None]:
        def run() -> None:
            for body in bodies:
                pos = 0
                end_of_body = len(body)
                while pos < end_of_body:
                    length, crc = unpack(body, pos)
                    end = pos + 8 + length
                    payload = body[pos + 8 : end]
                    if check and crc32c(payload) != crc:
                        raise AssertionError("the bench journal is damaged")
                    if decoding:
                        decode(payload)
                    pos = end

        return run

    stages = {
        "raw_unpacker": raw_unpack,
        "reader": ours_read,
        "decode_only": decode_only,
        "crc_only": crc_only,
        "walk": walk(False, False),
        "walk_crc": walk(True, False),
        "walk_decode": walk(False, True),
        "walk_crc_decode": walk(True, True),
    }
    times = best_of(5, *stages.values())
    emit(
        BENCH, "read_breakdown", unit="ns/event", events=n,
        **{name: round(t / n * 1e9) for name, t in zip(stages, times, strict=True)},
        note="walk = frame header unpack + payload slice; decode = msgspec typed decode; "
        "stages are not additive (see bench/journal.py)",
    )  # fmt: skip


def _reader_peak_rss(journal: Path) -> float:
    """Peak RSS of a fresh process that reads the whole journal: streaming keeps it flat."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec from this big parent.
    code = (
        "import sys\n"
        "from journal.reader import JournalReader\n"
        "n = sum(1 for _ in JournalReader(sys.argv[1]).events())\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(int(hwm.split()[1]) / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(journal)], capture_output=True, text=True, check=True
    )
    return round(float(out.stdout), 1)


async def _durable(workdir: Path, producers: int, per_producer: int) -> None:
    events = market_events(producers * per_producer, seed=11)
    writer = JournalWriter.open(workdir / f"durable{producers}")
    service = JournalService(writer, max_batch_delay_s=0.005)
    latencies: list[float] = []

    async def produce(k: int) -> None:
        for i in range(per_producer):
            t0 = time.perf_counter()
            await service.append_durable(events[k * per_producer + i])
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        async with trio.open_nursery() as inner:
            for k in range(producers):
                inner.start_soon(produce, k)
        nursery.cancel_scope.cancel()
    elapsed = time.perf_counter() - t0
    writer.close()
    q = statistics.quantiles(latencies, n=100)
    emit(
        BENCH, f"durable_append_{producers}_producers",
        appends=len(latencies), p50_us=round(q[49] * 1e6), p99_us=round(q[98] * 1e6),
        appends_per_s=round(len(latencies) / elapsed), fsyncs=service.batches,
        appends_per_fsync=round(len(latencies) / max(service.batches, 1), 1),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="asn-bench-journal-"))
    try:
        throughput(args.events, workdir)
        trio.run(_durable, workdir, 1, 500)
        trio.run(_durable, workdir, 16, 200)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
