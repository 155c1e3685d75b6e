"""The whole daemon: sustained events/s on the sim venue, and restart time after SIGKILL.

- throughput: ``asnd``'s runtime in-process (six models, the journal fsyncing every group
  commit, executor, control socket) on the sim venue at full speed ("fast" pace: the agent
  market steps as fast as the daemon takes its events) for a fixed time. Reference, same run:
  the six agent markets stepping alone into nothing (what the venue can produce).
- restart: a journal of one million events (the daemon's own kinds, written by the core's
  ``Backtest`` on the sim market, a ``StateSnapshot`` every 100,000 events as
  ``[journal] snapshot_every_events`` makes the daemon do), a real ``asnd run`` on it killed
  with SIGKILL, then the time from starting it again to READY=1 on the notify socket, with
  numba's cache warm (as every restart after the first), and once more after a SIGKILL with
  an empty cache (``NUMBA_CACHE_DIR`` a fresh directory: the first start after an install,
  which compiles the kernel before READY). Reference, same run: recovery by replaying the
  whole journal with no snapshot.

Run: ``.venv/bin/python -m bench.daemon``; prints JSON lines.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from asnd.config import Config, load_config
from asnd.core.agent_market.agents import Genome
from asnd.core.agent_market.market import AgentMarket
from asnd.core.backtest import Backtest
from asnd.core.drive import recover
from asnd.core.slot import strategy_loaded
from asnd.log import configure_logging
from asnd.recovery import restore_state
from asnd.runtime import Daemon, core_config
from asnd.venues.sim.instruments import sim_config_for
from asnd.venues.sim.venue import SimVenue
from bench._common import emit
from journal.events import DaemonStarted, Event, InstrumentInfo
from journal.reader import JournalReader
from journal.writer import JournalWriter

BENCH = "daemon"
REPO = Path(__file__).resolve().parents[1]
SECONDS = 8.0
MILLION = 1_000_000


def _config(root: Path) -> Config:
    shutil.copytree(REPO / "etc", root / "etc")
    path = root / "etc" / "asnd.toml"
    sock = Path(tempfile.mkdtemp(prefix="asn-b-", dir="/tmp")) / "control.sock"
    text = path.read_text().replace('socket = "../var/run/control.sock"', f'socket = "{sock}"')
    path.write_text(text)
    return load_config(path)


def _markets(config: Config) -> list[AgentMarket]:
    genome = Genome()
    return [
        AgentMarket(sim_config_for(s.symbol), genome, seed=i) for i, s in enumerate(config.slots)
    ]


def _market_rate(config: Config, seconds: float) -> float:
    markets = _markets(config)
    ts, n = 1_700_000_000_000_000_000, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ts += 100_000_000
        for m in markets:
            n += len(m.step(ts))
    return n / (time.perf_counter() - t0)


async def _daemon_rate(config: Config, seconds: float) -> tuple[float, int]:
    venue = SimVenue.for_symbols([s.symbol for s in config.slots], seed=1, pace="fast")
    daemon = Daemon(config, venue=venue)
    async with trio.open_nursery() as nursery:
        await nursery.start(daemon.run)
        assert daemon.core is not None
        first = daemon.core.journal.next_seq
        t0 = time.perf_counter()
        await trio.sleep(seconds)
        events = daemon.core.journal.next_seq - first
        elapsed = time.perf_counter() - t0
        daemon.stop.set()
    return events / elapsed, daemon.core.journal.batches


def throughput(root: Path) -> None:
    config = _config(root / "throughput")
    ref = _market_rate(config, 3.0)
    rate, fsyncs = trio.run(_daemon_rate, config, SECONDS)
    emit(
        BENCH, "sim_end_to_end",
        events_per_s=round(rate), seconds=SECONDS, slots=len(config.slots),
        fsync=config.journal.fsync, group_commits=fsyncs,
        ref="six agent markets stepping alone", ref_events_per_s=round(ref),
        ratio=round(rate / ref, 3),
        note="journal events (market data, signals, intents, verdicts, acks, fills) per second",
    )  # fmt: skip


def _million_event_journal(config: Config) -> int:
    """Write >= 1M daemon events (with snapshots) into the config's journal; returns count."""
    core = core_config(config)
    backtest = Backtest(core)
    loop = backtest.loop
    markets = _markets(config)
    ts = 1_700_000_000_000_000_000
    every = config.journal.snapshot_every_events
    with JournalWriter.open(config.journal.directory, fsync=False) as writer:
        setup: list[Event] = [DaemonStarted(0, ts, "bench", os.getpid(), "sim")]
        for m in markets:
            c = m.config
            setup.append(
                InstrumentInfo(0, ts, "sim", c.symbol, c.tick_size, c.lot_size, c.lot_size)
            )
        for s in config.slots:
            setup.append(strategy_loaded(s.index, s.strategy.read_bytes(), str(s.strategy), ts))
        for event in setup:
            backtest.feed(event)
        next_snapshot = every
        while loop.next_seq <= MILLION:
            ts += 100_000_000
            for m in markets:
                for event in m.step(ts):
                    backtest.feed(event)
            for event in loop.journal:
                writer.append(event)
            loop.journal.clear()
            if loop.next_seq > next_snapshot:
                writer.append(loop.state.snapshot_event(ts))
                loop.next_seq += 1
                next_snapshot += every
        writer.commit()
        return writer.next_seq - 1


def restart(root: Path) -> None:
    config = _config(root / "restart")
    events = _million_event_journal(config)
    directory = config.journal.directory
    size = sum(p.stat().st_size for p in directory.glob("*.seg"))

    t0 = time.perf_counter()
    restore_state(core_config(config), directory)
    t_snapshot = time.perf_counter() - t0
    t0 = time.perf_counter()
    recover(core_config(config), None, JournalReader(directory).events())
    t_full = time.perf_counter() - t0

    notify_dir = Path(tempfile.mkdtemp(prefix="asn-bn-", dir="/tmp"))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_dir / "n"))
    notify.settimeout(120)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_dir / "n"), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "asnd.daemon", "run", "--config", str(config.path)]

    cold_cache = Path(tempfile.mkdtemp(prefix="asn-bn-cache-"))

    def start_until_ready(*, cold: bool = False) -> tuple[subprocess.Popen[bytes], float]:
        t = time.perf_counter()
        proc = subprocess.Popen(
            command,
            env={**env, "NUMBA_CACHE_DIR": str(cold_cache)} if cold else env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while b"READY=1" not in notify.recv(4096):
            pass
        return proc, time.perf_counter() - t

    try:
        proc, _ = start_until_ready()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc, t_restart = start_until_ready()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        notify.settimeout(600)  # a cold compile on a loaded 2-core machine: minutes
        proc, t_cold = start_until_ready(cold=True)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    finally:
        notify.close()
        shutil.rmtree(notify_dir, ignore_errors=True)
        shutil.rmtree(cold_cache, ignore_errors=True)
    emit(
        BENCH, "restart_after_sigkill",
        journal_events=events, journal_mib=round(size / 2**20, 1),
        snapshot_every_events=config.journal.snapshot_every_events,
        restart_to_ready_s=round(t_restart, 2), recovery_s=round(t_snapshot, 2),
        restart_to_ready_cold_cache_s=round(t_cold, 2),
        ref="recovery by replaying the whole journal (no snapshot)",
        ref_recovery_s=round(t_full, 2), ratio=round(t_full / t_snapshot, 1),
        note="restart_to_ready_s includes interpreter start-up, imports, kernel warm-up "
        "(cache loaded; compiled with an empty cache) and reconciliation",
    )  # fmt: skip


def main() -> None:
    configure_logging("json", "warning", stream=sys.stderr)  # stdout carries only JSON lines
    root = Path(tempfile.mkdtemp(prefix="asn-bench-daemon-"))
    try:
        throughput(root)
        restart(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
