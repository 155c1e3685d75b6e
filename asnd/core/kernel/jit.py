"""The one decorator every kernel function uses: numba's ``njit`` with an on-disk cache.

``cache=True`` keeps compiled machine code next to the source (``__pycache__``) or, when that
is not writable, under ``NUMBA_CACHE_DIR`` (the daemon points it at its state directory:
``asnd.kernel_cache``). With ``NUMBA_DISABLE_JIT=1`` numba returns the function unchanged, so
the same source runs as plain Python (readable tracebacks, line coverage).

Rules for kernel code, so both modes compute the same values: convert bytes with ``int()``
before arithmetic (numpy's uint8 would wrap or raise in Python mode), keep every integer in
int64 range, return tuples of scalars rather than raising, and allocate nothing per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["kernel"]

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile ``fn`` in nopython mode on first call, cached on disk (typed for mypy)."""
    return cast(F, numba.njit(cache=True, nogil=True)(fn))
