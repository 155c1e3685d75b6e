"""Whether the kernels run compiled, and how hard property tests push in each mode."""

from __future__ import annotations

import os

#: ``NUMBA_DISABLE_JIT=1``: the kernels run as plain Python (test_strategy_nojit.py).
JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") == "1"


def examples(n: int) -> int:
    """Hypothesis examples: ``n`` compiled, a fifth as plain Python (the same code, far slower)."""
    return max(n // 5, 10) if JIT_DISABLED else n
