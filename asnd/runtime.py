"""``asnd run``: the daemon assembled from its parts.

Start-up, in this order, every step journaled:

1. warm the compiled kernel (``asnd.kernel_cache.warm_up``: the first start after an install
   compiles it and logs the time it took, later starts load numba's cache), open the journal
   (a torn tail from a crash is truncated and reported) and rebuild the state from it
   (``asnd.recovery``);
2. ``DaemonStarted``, a ``StateSnapshot`` of the recovered state (the recovery point), and
   ``ConfigLoaded`` (the file as read; it never holds secrets);
3. instruments from the venue; the champion strategy of every slot that has none yet (after a
   swap the journal's champion wins over the config's file);
   (the venue is entered first, ``async with venue``, and stays open until the end);
4. reconciliation: every order the journal believes working is looked up at the venue (all
   at once; the fills found are journaled), so are our executions since 15 minutes before the
   journal's last event that it does not hold (``Venue.missed_fills``), and then the
   venue's positions are compared with ours, before any new order (a venue that lives with
   the daemon is first told them: the sim its positions, ``EmbeddedVenue``; the paper venue
   its positions and working orders too, ``JournaledVenue``);
5. the actors start under the supervisor: feed (the venue's stream), executor, control socket,
   market watch (stale books, status), the pit crew (challenger files, ``asnd.actors.pitcrew``;
   the core folds their shadows, ``asnd.core.pitlane``), the alerts (``asnd.alerts``, when a
   destination is enabled) and the systemd watchdog; then ``READY=1``.

Two more steps keep a journal's orders its own (``asnd.foreign``): a new journal draws its
link-id namespace right after ``ConfigLoaded`` (``LinkNamespace``), and after reconciliation
the venue's open orders not of this journal are reported (or cancelled: ``[venue]
foreign_orders``). On Bybit, before the instruments, the account is checked
(``asnd.readiness``: one-way mode, unified account, linear USDT perpetuals trading, balance,
clock): the daemon refuses to start with one line saying what to change.

SIGTERM or SIGINT stops it: ``STOPPING=1``, the feed and control stop taking inputs, open
orders are cancelled if ``[shutdown] cancel_open_orders`` (within ``grace_ms``),
``DaemonStopped`` is journaled, the journal is flushed, exit status 0.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from functools import partial

import structlog
import trio

from asnd import __version__, foreign, venue_check
from asnd.actors.core import CoreActor
from asnd.actors.desk import Desk, Health
from asnd.actors.executor import Executor
from asnd.actors.housekeeper import Housekeeper
from asnd.actors.pitcrew import PitCrew
from asnd.actors.supervisor import ActorSpec, Supervisor
from asnd.alerts.actor import Alerter
from asnd.alerts.collector import AlertCollector
from asnd.alerts.destinations import Destination, destinations
from asnd.config import Config
from asnd.control import serve_control
from asnd.core.brakes import BrakeLimits
from asnd.core.pitlane import PitLane
from asnd.core.portfolio import CoreConfig
from asnd.core.promotion import PromotionRule
from asnd.core.slot import SlotConfig, strategy_loaded
from asnd.core.strategy.validate import StrategyError
from asnd.core.watchtower import RiskLimits
from asnd.kernel_cache import warm_up
from asnd.metrics import DaemonMetrics, MeteredVenue, serve_metrics
from asnd.notify import Notifier, run_watchdog
from asnd.recovery import restore_state
from asnd.venues.base import EmbeddedVenue, JournaledVenue, Venue
from asnd.venues.bybit import BybitConfig, BybitVenue, load_credentials
from asnd.venues.paper import PaperConfig, PaperVenue
from asnd.venues.sim.venue import SimVenue
from journal.events import (
    BookDelta,
    BookSnapshot,
    BookStale,
    CancelIntent,
    ConfigLoaded,
    DaemonStarted,
    DaemonStopped,
    Event,
    FeedConnected,
    FeedLost,
    Trade,
)
from journal.retention import RetainPolicy
from journal.service import JournalService
from journal.writer import JournalWriter

__all__ = ["Daemon", "core_config", "make_venue", "paper_config"]

_log = structlog.get_logger("asnd")
#: How long before the journal's last event a fill may have happened whose frame the last run
#: never journaled. A frame takes milliseconds to arrive, but start-ups killed in a crash loop
#: journal a few events each and push "the last event" on: 15 minutes of them are covered,
#: for a paged query of executions per symbol (deduplicated by the fill memory).
MISSED_FILLS_MARGIN_NS = 15 * 60 * 1_000_000_000
#: Start-up asks the venue this often for fills and positions until they agree with ours.
RECONCILE_ATTEMPTS = 5
RECONCILE_RETRY_S = 0.2


def core_config(config: Config) -> CoreConfig:
    """The deterministic core's view of the configuration (exact units)."""
    slots = tuple(
        SlotConfig.from_decimals(
            s.symbol, capital=s.capital, min_qty=s.min_qty, max_qty=s.max_qty, leverage=s.leverage,
            brakes=BrakeLimits.from_decimals(
                max_daily_loss=s.max_daily_loss, max_drawdown=s.max_drawdown
            ),
        )
        for s in config.slots
    )  # fmt: skip
    risk = RiskLimits.from_decimals(
        max_notional=config.risk.max_notional_per_slot,
        max_open_orders=config.risk.max_open_orders_per_slot,
        kill_mode=config.risk.kill_all,
        brakes=BrakeLimits.from_decimals(
            max_daily_loss=config.risk.max_daily_loss, max_drawdown=config.risk.max_drawdown
        ),
    )
    return CoreConfig(slots=slots, risk=risk)


def make_venue(config: Config) -> Venue:
    """The configured venue. Bybit kinds need credentials (``NeedsHumanError`` without);
    ``bybit-paper`` reads public market data only and fills on the L2 replay."""
    symbols = [s.symbol for s in config.slots]
    if config.venue.kind == "sim":
        return SimVenue.for_symbols(symbols, seed=config.venue.sim.seed, pace="wall")
    if config.venue.kind == "bybit-paper":
        return PaperVenue(paper_config(config))
    settings = config.venue.bybit
    bybit = BybitConfig(
        settings.rest_url,
        settings.ws_public_url,
        settings.ws_private_url,
        symbols=tuple(symbols),
        recv_window_ms=settings.recv_window_ms,
    )
    return BybitVenue(bybit, load_credentials())


def paper_config(config: Config) -> PaperConfig:
    """The paper venue's settings (``[paper]``) in its own units."""
    paper = config.paper
    return PaperConfig(
        paper.rest_url,
        paper.ws_public_url,
        tuple(s.symbol for s in config.slots),
        seed=paper.seed,
        latency_ns=(paper.latency_min_ms * 1_000_000, paper.latency_max_ms * 1_000_000),
        queue=paper.queue,
        balance_e8=int(paper.balance * 100_000_000),
    )


def _observe(health: Health, clock_ns: Callable[[], int], event: Event) -> None:
    """Keep the wall-clock view of the feed that ``status`` and the silence watch read: when
    the shell *received* market data (event stamps may be a simulated clock)."""
    if isinstance(event, BookDelta | BookSnapshot):
        health.book_ns[event.symbol] = health.last_market_ns = clock_ns()
    elif isinstance(event, Trade):
        health.last_market_ns = clock_ns()
    elif isinstance(event, FeedConnected):
        health.feed_state = "connected"
    elif isinstance(event, FeedLost):
        health.feed_state = "reconnecting"


def _fan_out(
    *hooks: Callable[[Event, list[Event], int], None],
) -> Callable[[Event, list[Event], int], None]:
    """One ``on_folded`` hook that tells each of ``hooks`` in turn."""

    def folded(event: Event, decisions: list[Event], elapsed_ns: int) -> None:
        for hook in hooks:
            hook(event, decisions, elapsed_ns)

    return folded


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        venue: Venue | None = None,
        notifier: Notifier | None = None,
        entropy: Callable[[int], bytes] = os.urandom,
        clock_ns: Callable[[], int] = time.time_ns,
        alert_destinations: Sequence[Destination] | None = None,
    ) -> None:
        """``alert_destinations``: by default the ones ``[alerts]`` enables, their secrets
        from the environment or systemd credentials (``AlertsSetupError`` if missing)."""
        self.config = config
        if alert_destinations is None:
            alert_destinations = destinations(config.alerts)
        self.alert_destinations = tuple(alert_destinations)
        self.venue = venue or make_venue(config)
        self.notifier = notifier or Notifier()
        self._clock_ns = clock_ns
        self._entropy = entropy  # randomness is an input: the journal's link-id namespace
        self.health = Health(started_ns=clock_ns())
        self.stop = trio.Event()
        self.core: CoreActor | None = None
        self.metrics = DaemonMetrics()
        self.alerter: Alerter | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until ``stop`` is set (or a signal arrives); return after a clean shutdown."""
        config = self.config
        warm_up()  # before recovery and READY: no market event waits for a compile
        writer = JournalWriter.open(config.journal.directory, fsync=config.journal.fsync)
        if writer.recovery.dropped_bytes:
            _log.warning("journal recovered", detail=str(writer.recovery))
        try:
            await self._run(writer, task_status)
        finally:
            writer.close()

    async def _run(self, writer: JournalWriter, task_status: trio.TaskStatus[None]) -> None:
        config, now = self.config, self._clock_ns
        restored = restore_state(core_config(config), config.journal.directory)
        _log.info(
            "state restored",
            snapshot_seq=restored.snapshot_seq,
            replayed=restored.replayed,
            next_seq=writer.next_seq,
        )
        service = JournalService(
            writer,
            max_batch_delay_s=config.journal.group_commit_max_delay_ms / 1000,
            on_commit=self.metrics.journal.committed,
        )
        on_folded: Callable[[Event, list[Event], int], None] = self.metrics.core.folded
        if self.alert_destinations:
            self.alerter = Alerter(
                config.alerts,
                self.alert_destinations,
                lambda: core.state,
                symbols=[s.symbol for s in config.slots],
                clock_ns=now,
            )
            on_folded = _fan_out(on_folded, self.alerter.folded)
            self.metrics.registry.register(AlertCollector(self.alerter))
        core = self.core = CoreActor(
            restored.state,
            service,
            snapshot_every=config.journal.snapshot_every_events,
            clock_ns=now,
            observe=partial(_observe, self.health, now),
            pit=PitLane(
                PromotionRule(
                    config.promotion.min_windows,
                    config.promotion.window_s,
                    config.promotion.alpha,
                    config.promotion.target_multiple,
                ),
                config.promotion.swap_mode,
            ),
            on_folded=on_folded,
        )
        pit_crew = PitCrew(
            config.challengers.directory,
            config.challengers.max_file_bytes,
            core.submit,
            now,
        )
        executor = Executor(MeteredVenue(self.venue, self.metrics.executor), core, clock_ns=now)
        desk = Desk(config, core, self.health, clock_ns=now)
        self.metrics.watch(desk)
        async with trio.open_nursery() as journal_scope:
            await journal_scope.start(service.run)
            # The venue is open for the daemon's whole life: start-up, trading and the drain
            # (its REST client, on Bybit); it is closed on every way out.
            async with self.venue, trio.open_nursery() as core_scope:
                await core_scope.start(core.run)
                await self._start_up(core, executor, restored.last_ts_ns)
                supervisor = Supervisor(config.supervisor, core.submit)
                async with trio.open_nursery() as actors:
                    actors.start_soon(self._signals)
                    specs = [
                        ActorSpec("feed", partial(self._feed, core)),
                        ActorSpec("executor", executor.run),
                        ActorSpec(
                            "control",
                            partial(
                                serve_control,
                                config.control.socket,
                                desk,
                                slot_count=len(config.slots),
                                allowed_uids=config.control.allowed_uids,
                            ),
                        ),
                        ActorSpec("watch", partial(self._watch, core), critical=False),
                        ActorSpec("pitcrew", pit_crew.run, critical=False),
                    ]
                    if config.metrics.enabled:
                        serve = partial(serve_metrics, config.metrics, self.metrics.registry)
                        specs.append(ActorSpec("metrics", serve, critical=False))
                    retain = RetainPolicy(config.journal.retain_days, config.journal.retain_bytes)
                    if retain.active:
                        keeper = Housekeeper(
                            config.journal.directory,
                            retain,
                            lambda: core.last_snapshot_as_of,
                            archive=config.journal.archive_directory,
                        )
                        specs.append(ActorSpec("housekeeper", keeper.run, critical=False))
                    if self.alerter is not None:
                        specs.append(ActorSpec("alerts", self.alerter.run, critical=False))
                    await actors.start(supervisor.run, specs)
                    actors.start_soon(
                        partial(run_watchdog, self.notifier, healthy=supervisor.healthy)
                    )
                    self.health.phase = "trading"
                    self.notifier.ready(f"trading on {config.venue.kind}")
                    _log.info("trading", venue=config.venue.kind, slots=len(config.slots))
                    task_status.started()
                    await self.stop.wait()
                    self.health.phase = "stopping"
                    self.notifier.stopping("stopping")
                    # Drain with the feed still running: venues answer cancels on it.
                    await self._drain(core, executor)
                    actors.cancel_scope.cancel()  # no more inputs: feed and control stop
                await core.submit(DaemonStopped(0, self._clock_ns(), "signal"), wait=True)
                await core.journal.wait_durable(core.journal.next_seq - 1)
                _log.info("stopped", journal_seq=core.journal.next_seq - 1)
                core_scope.cancel_scope.cancel()
            journal_scope.cancel_scope.cancel()  # the service flushes on its way out

    async def _start_up(self, core: CoreActor, executor: Executor, last_ts_ns: int) -> None:
        config, now = self.config, self._clock_ns
        self.health.phase = "reconciling"
        await core.submit(
            DaemonStarted(0, now(), __version__, os.getpid(), config.venue.kind), wait=True
        )
        # The recovered state, journaled: the recovery point, and a bound on the next restart.
        await core.snapshot()
        await core.submit(ConfigLoaded(0, now(), str(config.path), config.digest, config.text))
        namespace = foreign.namespace_for(core.state, self._entropy, now())
        if namespace is not None:
            await core.submit(namespace, wait=True)
        if isinstance(self.venue, BybitVenue):  # hedge mode, classic account, ...: refuse
            await venue_check.ensure_ready(config, core.state)
        symbols = [s.symbol for s in config.slots]
        await core.submit(*await self.venue.instruments(symbols), wait=True)
        await core.submit(*self._champions(core), wait=True)
        state = core.state
        if isinstance(self.venue, EmbeddedVenue):
            held = {
                s.symbol: (s.ledger.position_lots, int(s.ledger.avg_entry_ticks))
                for s in state.slots
                if s.ledger is not None and s.ledger.position_lots
            }
            self.venue.carry_over(held)
        if isinstance(self.venue, JournaledVenue):  # paper: its orders are the journal's
            working = [
                (s.index, s.symbol, order) for s in state.slots for order in s.orders.values()
            ]
            self.venue.resume_orders(working)
        # Fills the journal holds are never journaled again by a lookup or a catch-up.
        self.venue.remember_fills(e for s in state.slots for e in s.exec_ids)
        async with trio.open_nursery() as lookups:  # each may wait out the recv window
            for slot, symbol, link_id in state.orders_to_reconcile():
                lookups.start_soon(executor.resolve, slot, symbol, link_id)
        # What the lookups found (fills of orders that filled while we were away), and fills
        # the last run never journaled (it died between a fill and its frame), are folded
        # before the venue's positions are compared with ours.
        # Our orders still rest at the venue and may fill between the fills query and the
        # positions query: a disagreement is asked again (fills, then positions) before it
        # is journaled as one (which halts trading).
        since_ns = last_ts_ns - MISSED_FILLS_MARGIN_NS if last_ts_ns else now()
        found = self.venue.take_backlog()
        for attempt in range(1, RECONCILE_ATTEMPTS + 1):
            found += await self.venue.missed_fills(since_ns)
            await core.submit(*found, wait=True)
            found = []
            _orders, positions = await self.venue.reconcile(symbols)
            differ = [r for p in positions if (r := core.state.position_mismatch(p)) is not None]
            if not differ or attempt == RECONCILE_ATTEMPTS:
                break
            _log.info("positions differ at start-up; asking again", differ=differ)
            await trio.sleep(RECONCILE_RETRY_S)
        await core.submit(*positions, wait=True)
        mode = config.venue.foreign_orders
        await core.submit(
            *await foreign.reconcile_foreign(self.venue, state, symbols, mode), wait=True
        )

    def _champions(self, core: CoreActor) -> list[Event]:
        out: list[Event] = []
        for slot_config, slot in zip(self.config.slots, core.state.slots, strict=True):
            if slot.strategy is not None:
                continue  # the journal's champion (possibly swapped in) wins
            path = slot_config.strategy
            try:
                loaded = strategy_loaded(slot.index, path.read_bytes(), str(path), self._clock_ns())
            except StrategyError as exc:
                _log.error(
                    "champion strategy invalid: slot stays idle",
                    slot=slot.index,
                    path=str(path),
                    error=str(exc),
                )
                continue
            out.append(loaded)
        return out

    async def _feed(self, core: CoreActor, *, task_status: trio.TaskStatus[None]) -> None:
        await self.venue.run(core.emit.clone(), task_status=task_status)

    async def _watch(self, core: CoreActor, *, task_status: trio.TaskStatus[None]) -> None:
        """Distrust every book after ``stale_book_timeout_ms`` without any market data.

        Silence of the whole feed, not of one book: a quiet book on a live connection is
        still true (Bybit sends nothing when nothing changes), while a feed that went silent
        may have missed updates. The venue's next snapshot makes a book trusted again.
        """
        timeout_ns = self.config.risk.stale_book_timeout_ms * 1_000_000
        task_status.started()
        ticks = 0
        while True:
            await trio.sleep(timeout_ns / 4e9)
            now = self._clock_ns()
            last = self.health.last_market_ns or self.health.started_ns
            if now - last > timeout_ns:
                age_ms = (now - last) // 1_000_000
                for symbol in sorted(core.state.books):
                    book = core.state.book(symbol)
                    if book is not None and not book.stale:
                        reason = f"no market data for {age_ms} ms"
                        await core.submit(BookStale(0, now, symbol, reason))
            ticks += 1
            if ticks % 20 == 0:
                self.notifier.status(f"trading: journal seq {core.journal.next_seq - 1}")

    async def _signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                _log.info("stopping", signal=signal.Signals(signum).name)
                self.stop.set()
                return

    async def _drain(self, core: CoreActor, executor: Executor) -> None:
        """Stop sending new orders; cancel ours if configured, within ``grace_ms``."""
        config, now = self.config, self._clock_ns
        executor.draining = True
        if not config.shutdown.cancel_open_orders:
            return
        state = core.state
        targets = [(slot.index, link) for slot in state.slots for link in slot.orders]
        cancels = [
            CancelIntent(
                0, now(), i, state.slots[i].symbol, link, "shutdown: cancel open orders", 0
            )
            for i, link in targets
        ]
        with trio.move_on_after(config.shutdown.grace_ms / 1000) as scope:
            await core.submit(*cancels, wait=True)
            while any(link in state.slots[i].orders for i, link in targets):
                await core.progress()
        if scope.cancelled_caught:
            left = [link for i, link in targets if link in state.slots[i].orders]
            _log.warning("shutdown grace expired with orders still open", link_ids=left)
