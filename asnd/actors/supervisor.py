"""The supervisor: runs the daemon's actors, restarts a crashed one with backoff, journals it.

Policy (``[supervisor]`` in the config):

- An actor that raises (or returns: actors are meant to run until cancelled) has crashed.
  The crash is journaled as ``ActorCrashed`` and the actor is restarted after a backoff that
  doubles from ``restart_backoff_initial_ms`` up to ``restart_backoff_max_ms``.
- Crashes are counted over a sliding ``crash_window_s``. When a *critical* actor crashes
  ``max_crashes`` times within it, trading halts: ``TradingHalted`` is journaled, the
  ``on_halt`` callback runs (the daemon flips the watchtower's kill switch there) and that
  actor is not restarted again: fail-stop, not fail-silent. A non-critical actor keeps being
  restarted at the maximum backoff.
- If journaling a crash itself fails, the supervisor raises: with no journal there is no
  safe way to go on, so the daemon exits and systemd decides.
- Cancellation (shutdown) is never treated as a crash: ``trio.Cancelled`` is a
  ``BaseException`` and passes through.

``emit`` journals an event (the journal service's ``append_durable``). Start it with
``await nursery.start(supervisor.run, specs)``: it returns once every actor has
called ``task_status.started()``; an actor that fails to start fails ``run``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import structlog
import trio

from asnd.backoff import Backoff
from asnd.config import SupervisorSettings
from asnd.core.halts import HaltKind, halt_text
from journal.events import ActorCrashed, Event, TradingHalted

__all__ = ["ActorSpec", "ActorState", "ActorStatus", "Supervisor"]

_log = structlog.get_logger("asnd.supervisor")

ActorState = Literal["starting", "running", "backoff", "stopped"]


class ActorMain(Protocol):
    """An actor's body: runs until cancelled, calling ``task_status.started()`` once ready."""

    def __call__(self, *, task_status: trio.TaskStatus[Any] = ...) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class ActorSpec:
    name: str
    main: ActorMain
    critical: bool = True


@dataclass(slots=True)
class ActorStatus:
    """What ``asnctl status`` / the watchdog may want to know about one actor."""

    name: str
    critical: bool
    state: ActorState = "starting"
    restarts: int = 0
    last_error: str | None = None


class Supervisor:
    def __init__(
        self,
        settings: SupervisorSettings,
        emit: Callable[[Event], Awaitable[object]],
        *,
        on_halt: Callable[[str], Awaitable[None]] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._settings = settings
        self._emit = emit
        self._on_halt = on_halt
        self._clock_ns = clock_ns
        self._status: dict[str, ActorStatus] = {}
        # No jitter: restarts of one process's actors never stampede a shared service.
        self._backoff = Backoff(
            settings.restart_backoff_initial_ms / 1000,
            settings.restart_backoff_max_ms / 1000,
            jitter=0.0,
        )
        self.halted_reason: str | None = None

    def status(self) -> list[ActorStatus]:
        return list(self._status.values())

    def healthy(self) -> bool:
        """False once trading halted or while a critical actor is down (for the watchdog)."""
        if self.halted_reason is not None:
            return False
        return all(s.state == "running" for s in self._status.values() if s.critical)

    def backoff_s(self, crashes_in_window: int) -> float:
        """Delay before restart number ``crashes_in_window`` (1 = first crash)."""
        return self._backoff.delay(crashes_in_window)

    async def run(
        self,
        specs: Sequence[ActorSpec],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"actor names must be unique, got {names}")
        async with trio.open_nursery() as nursery:
            for spec in specs:
                self._status[spec.name] = ActorStatus(spec.name, spec.critical)
                await nursery.start(self._supervise, spec)
            task_status.started()

    async def _attempt(
        self, spec: ActorSpec, status: ActorStatus, task_status: trio.TaskStatus[None]
    ) -> str:
        """Run the actor once; return how it ended (it always ends in a crash or a return).

        A first start that fails is raised, not restarted: that is a configuration or
        environment error, and the daemon should say so at once.
        """
        first = status.restarts == 0
        status.state = "starting"
        try:
            async with trio.open_nursery() as inner:
                await inner.start(_call, spec.main)
                status.state = "running"
                if first:
                    task_status.started()
        except Exception as exc:
            if first and status.state == "starting":
                raise
            return _describe(exc)
        return f"ActorReturned: {spec.name} returned; actors must run until cancelled"

    async def _supervise(self, spec: ActorSpec, *, task_status: trio.TaskStatus[None]) -> None:
        status = self._status[spec.name]
        window_s = self._settings.crash_window_s
        crashes: deque[float] = deque()  # trio clock times, within the window
        while True:
            error = await self._attempt(spec, status, task_status)
            now = trio.current_time()
            crashes.append(now)
            while crashes and now - crashes[0] > window_s:
                crashes.popleft()
            status.restarts += 1
            status.last_error = error
            _log.error("actor.crashed", actor=spec.name, error=error, restarts=status.restarts)
            await self._emit(
                ActorCrashed(
                    seq=0,
                    ts_local_ns=self._clock_ns(),
                    actor=spec.name,
                    error=error,
                    restarts=status.restarts,
                )
            )
            if spec.critical and len(crashes) >= self._settings.max_crashes:
                status.state = "stopped"
                await self._halt(
                    halt_text(
                        HaltKind.ACTOR_CRASHED,
                        f"{spec.name} crashed {len(crashes)} times within "
                        f"{self._settings.crash_window_s} s; last error: {error}",
                    )
                )
                return
            status.state = "backoff"
            await trio.sleep(self.backoff_s(len(crashes)))

    async def _halt(self, reason: str) -> None:
        _log.critical("trading.halted", reason=reason)
        if self.halted_reason is None:
            self.halted_reason = reason
            await self._emit(TradingHalted(seq=0, ts_local_ns=self._clock_ns(), reason=reason))
            if self._on_halt is not None:
                await self._on_halt(reason)


def _describe(exc: BaseException) -> str:
    """``Type: message`` of the real error, unwrapping the one-member groups nurseries make."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


async def _call(main: ActorMain, *, task_status: trio.TaskStatus[Any]) -> None:
    await main(task_status=task_status)
