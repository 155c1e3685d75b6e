"""``NUMBA_DISABLE_JIT=1`` runs the kernel's source as plain Python: the book, record,
frame-check and restore tests (the daemon's one-event fold, its book views and snapshot
restore) pass that way too (readable tracebacks and line coverage of kernel code)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def test_the_same_source_runs_without_jit() -> None:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(REPO)}
    probe = (
        "import numba, asnd.core.kernel.fold as f; "
        "print(numba.config.DISABLE_JIT, type(f.fold_frames).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                         timeout=300, check=True)  # fmt: skip
    assert out.stdout.split() == ["1", "function"]  # plain Python, not a numba dispatcher
    tests = [str(HERE / name) for name in ("test_book.py", "test_records.py", "test_blocks.py")]
    tests.append(str(HERE.parent / "test_restore_parts.py"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
