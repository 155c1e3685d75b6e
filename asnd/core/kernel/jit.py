"""The one decorator every kernel function uses: numba's ``njit`` with an on-disk cache.

``cache=True`` keeps compiled machine code next to the source (``__pycache__``) or, when that
is not writable, under ``NUMBA_CACHE_DIR`` (the daemon points it at its state directory:
``asnd.kernel_cache``). With ``NUMBA_DISABLE_JIT=1`` numba returns the function unchanged, so
the same source runs as plain Python (readable tracebacks, line coverage).

Options: ``error_model="numpy"`` makes a float division by zero give inf or NaN (IEEE) instead
of a hidden branch that raises, so no kernel raises on a value. Not ``nogil``: the daemon is
one trio thread calling a kernel per event, and releasing the GIL around every call lets any
other thread that wants it (a worker thread of a library) take it for up to a switch interval
(5 ms) before the event loop gets it back: a tick-to-order stall, for nothing gained.

A stale cache: numba keys a function's cached code on its *own* source file's mtime and size,
but a kernel's machine code includes its callees' (``run_row`` inlines ``strategy_ops`` and
``mathfn``). Editing a callee's module alone would leave the caller's old code in the cache.
So every kernel function's freshness stamp also carries a digest of the whole kernel
package's source (``SOURCE_DIGEST``): any change to any kernel module recompiles them all.

Rules for kernel code, so both modes compute the same values: convert bytes with ``int()``
before arithmetic (numpy's uint8 would wrap or raise in Python mode), keep every integer in
int64 range, return tuples of scalars rather than raising, and allocate nothing per event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba
from numba.core import caching

__all__ = ["SOURCE_DIGEST", "kernel"]

F = TypeVar("F", bound=Callable[..., Any])

PACKAGE = Path(__file__).resolve().parent


def _digest(package: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


#: A digest of every kernel module's source: part of every kernel's cache stamp.
SOURCE_DIGEST = _digest(PACKAGE)


class _KernelSourceLocator(caching._CacheLocator):
    """numba's own locator for a kernel function, with the package digest in its stamp."""

    def __init__(self, inner: caching._CacheLocator) -> None:
        self._inner = inner

    def ensure_cache_path(self) -> None:
        cast(Any, self._inner).ensure_cache_path()

    def get_cache_path(self) -> str:
        return cast(str, cast(Any, self._inner).get_cache_path())

    def get_source_stamp(self) -> object:
        return (cast(Any, self._inner).get_source_stamp(), SOURCE_DIGEST)

    def get_disambiguator(self) -> str:
        return cast(str, cast(Any, self._inner).get_disambiguator())

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> _KernelSourceLocator | None:
        if Path(py_file).resolve().parent != PACKAGE:
            return None
        for other in _LOCATORS:
            inner = other.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner)
        return None


# numba picks the first locator class that accepts a function, when it is decorated.
_IMPL: Any = caching.CacheImpl
_LOCATORS = [c for c in _IMPL._locator_classes if c is not _KernelSourceLocator]
_IMPL._locator_classes = [_KernelSourceLocator, *_LOCATORS]


def kernel(fn: F) -> F:
    """Compile ``fn`` in nopython mode on first call, cached on disk (typed for mypy)."""
    return cast(F, numba.njit(cache=True, error_model="numpy")(fn))
