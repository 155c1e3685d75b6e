"""Where the compiled kernel's machine code is cached, and warming it up at start.

numba compiles every ``@njit(cache=True)`` kernel (``asnd.core.kernel``) on first use and
keeps the result on disk; later processes load it (seconds instead of a minute on a small
machine: ``bench.market``'s ``kernel_start_s``). By default the cache sits beside the source
(``__pycache__``); an installed package under systemd is read-only there, so the daemon
points ``NUMBA_CACHE_DIR`` at ``<state directory>/numba-cache`` instead (``var/`` for
``make run``). This must happen before the kernel modules are imported: numba fixes a
function's cache location when it is decorated.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

__all__ = ["KernelWarmUp", "cache_dir_for", "use_cache_dir", "warm_up"]

_log = structlog.get_logger("asnd.kernel")
KERNEL_PACKAGE = Path(__file__).resolve().parent / "core" / "kernel"


def cache_dir_for(state_dir: Path, package_dir: Path = KERNEL_PACKAGE) -> Path | None:
    """The cache directory the daemon must set: None when numba can write beside the
    kernel's source (it then caches there), else ``state_dir / "numba-cache"``."""
    cache = package_dir / "__pycache__"
    writable = os.access(cache, os.W_OK) if cache.exists() else os.access(package_dir, os.W_OK)
    return None if writable else state_dir / "numba-cache"


def use_cache_dir(state_dir: Path, package_dir: Path = KERNEL_PACKAGE) -> Path | None:
    """Point numba's cache at the state directory if the package is read-only (before the
    kernel is imported; an explicit ``NUMBA_CACHE_DIR`` in the environment wins)."""
    if "asnd.core.kernel.jit" in sys.modules:
        raise RuntimeError("use_cache_dir must run before asnd.core.kernel is imported")
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    chosen = cache_dir_for(state_dir, package_dir)
    if chosen is not None:
        chosen.mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(chosen)
        import numba  # noqa: PLC0415 - only when the cache moves

        numba.config.CACHE_DIR = str(chosen)  # type: ignore[attr-defined]  # numba re-reads it
    return chosen


@dataclass(frozen=True, slots=True)
class KernelWarmUp:
    seconds: float
    compiled: bool  # False: every kernel came from the cache


def warm_up() -> KernelWarmUp:
    """Import the kernel and run every entry point the daemon calls (the per-event fold, a
    block fold, a strategy program per row), so the first market event pays nothing; logs
    how long it took and whether it had to compile (the first start after an install)."""
    t0 = time.perf_counter()
    # Imported here, after use_cache_dir: importing the kernel fixes its cache location.
    from asnd.core.kernel import MarketKernel  # noqa: PLC0415
    from asnd.core.kernel.fold import fold_frames, fold_record, symbol_id  # noqa: PLC0415
    from asnd.core.kernel.strategy import run_columns, run_pair  # noqa: PLC0415
    from asnd.core.strategy import Const, StrategyDocument, compile_strategy  # noqa: PLC0415
    from journal.codec import encode  # noqa: PLC0415
    from journal.events import BookSnapshot, Trade  # noqa: PLC0415

    market = MarketKernel()
    market.add_symbol("WARMUP")
    book = BookSnapshot(0, 0, "WARMUP", 1, 0, 0, 0, [1], [1], [2], [1])
    market.fold_one(encode(book))
    market.fold_payloads([encode(Trade(0, 0, "WARMUP", "0", 1, 1, 1, 0))])
    doc = StrategyDocument("warm-up", (), Const(0.0), Const(0.0))
    strategy = compile_strategy(doc)
    strategy.evaluate(tuple(market.rows.values[0].tolist()))
    strategy.evaluate_batch(market.rows.values[:1])
    entries = (fold_frames, fold_record, symbol_id, run_pair, run_columns)
    misses = sum(sum(getattr(f, "stats", _NO_STATS).cache_misses.values()) for f in entries)
    result = KernelWarmUp(time.perf_counter() - t0, compiled=misses > 0)
    _log.info(
        "kernel compiled" if result.compiled else "kernel loaded from cache",
        seconds=round(result.seconds, 2),
        cache=os.environ.get("NUMBA_CACHE_DIR") or str(KERNEL_PACKAGE / "__pycache__"),
    )
    return result


class _NoStats:
    """What a function has instead of numba's stats under ``NUMBA_DISABLE_JIT=1``."""

    cache_misses: dict[Any, int] = {}  # noqa: RUF012 - read only


_NO_STATS = _NoStats()
