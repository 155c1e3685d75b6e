"""One pluggable map for every expensive evaluation (fitness, Chimera's simulations).

``mapper.map(fn, context, items)`` returns ``[fn(context, item) for item in items]``, in the
order of ``items`` whatever order the work completes in, so results never depend on the
backend or on scheduling. ``fn`` must be a module-level function and ``context`` and the
items picklable; ``fn`` must be deterministic (seeds come in through ``context``).

- ``LocalMap(workers)``: ``workers == 1`` runs in this process; more uses a
  ``ProcessPoolExecutor`` (``forkserver`` start: no fork of a threaded parent). Items are
  cut into one chunk per worker, so ``context`` (the dataset) is pickled once per worker
  per call, not once per item.
- ``DaskMap(address)``: the same chunks on a Dask distributed cluster (``pip install
  asn[distributed]``); ``context`` is scattered to the workers once per call. Imported
  lazily: the package works without dask installed.

``default_workers()`` is what ``--workers`` defaults to: the CPUs this process may use,
less one for the system, at least 1 and at most 4 (beyond that the per-call pickling of the
dataset starts to dominate small evaluations).
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

__all__ = ["DaskMap", "EvaluationMap", "LocalMap", "SchedulerError", "default_workers", "open_map"]

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

_ADDRESS = re.compile(r"tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}")


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be used (bad address, not reachable, dask missing)."""


class EvaluationMap(Protocol):
    workers: int

    def map(self, fn: Callable[[C, T], R], context: C, items: Sequence[T]) -> list[R]: ...

    def close(self) -> None: ...


def default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus - 1))


def _chunks(items: Sequence[T], n: int) -> list[list[T]]:
    size = -(-len(items) // n) if items else 1
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _run_chunk(fn: Callable[[C, T], R], context: C, chunk: list[T]) -> list[R]:
    return [fn(context, item) for item in chunk]


class _Closing:
    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LocalMap(_Closing):
    """In-process (``workers == 1``) or a local process pool."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[C, T], R], context: C, items: Sequence[T]) -> list[R]:
        if self.workers == 1 or len(items) <= 1:
            return [fn(context, item) for item in items]
        if self._pool is None:
            method = (
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context(method)
            )
        futures = [
            self._pool.submit(_run_chunk, fn, context, c) for c in _chunks(items, self.workers)
        ]
        out: list[R] = []
        for f in futures:  # in submission order: completion order never matters
            out.extend(f.result())
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskMap(_Closing):
    """Evaluations on a Dask distributed cluster at ``address`` (``tcp://HOST:PORT``)."""

    def __init__(self, address: str, *, timeout_s: float = 10.0) -> None:
        if not _ADDRESS.fullmatch(address):
            raise SchedulerError(
                f"scheduler address must look like tcp://HOST:PORT, got {address!r}"
            )
        try:
            from distributed import Client
        except ImportError:
            raise SchedulerError(
                "--scheduler needs dask distributed: pip install 'asn[distributed]'"
            ) from None
        try:
            self._client: Any = Client(  # type: ignore[no-untyped-call]
                address, timeout=timeout_s, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        info = self._client.scheduler_info()
        self.workers = max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def map(self, fn: Callable[[C, T], R], context: C, items: Sequence[T]) -> list[R]:
        if not items:
            return []
        ctx = self._client.scatter(context, broadcast=True, hash=False)
        futures = [
            self._client.submit(_run_chunk, fn, ctx, c, pure=False)
            for c in _chunks(items, self.workers)
        ]
        out: list[R] = []
        for chunk in self._client.gather(futures):  # gather keeps the submission order
            out.extend(chunk)
        return out

    def close(self) -> None:
        self._client.close()


def open_map(workers: int, scheduler: str | None = None) -> LocalMap | DaskMap:
    return DaskMap(scheduler) if scheduler else LocalMap(workers)
