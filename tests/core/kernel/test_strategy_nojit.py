"""``NUMBA_DISABLE_JIT=1`` runs the same kernel source as plain Python: the strategy kernel
tests pass that way in a subprocess, and its numbers equal the jitted ones bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from asnd.core.strategy import compile_strategy, parse_strategy

REPO = Path(__file__).resolve().parents[3]
CHAMPIONS = sorted((REPO / "etc" / "strategies").glob("champion_*.json"))

# The champions on a seeded matrix with special values, as hex bit patterns (JSON on stdout).
_PROBE = """
import json, sys
import numpy as np
from asnd.core.strategy import compile_strategy, parse_strategy
from asnd.core.kernel.strategy import run_columns
assert not hasattr(run_columns, "py_func"), "the kernel was compiled"
rng = np.random.default_rng(7)
matrix = rng.normal(scale=3.0, size=(600, 8))
matrix[::11] = [0.0, -0.0, 1e308, -1e-308, 5e-324, float("inf"), float("-inf"), float("nan")]
out = {}
for path in sys.argv[1:]:
    s = compile_strategy(parse_strategy(open(path, "rb").read()))
    rows = [s.evaluate(tuple(r)) for r in matrix.tolist()]
    out[path] = [s.evaluate_batch(matrix).tobytes().hex(), np.array(rows).T.tobytes().hex()]
print(json.dumps(out))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(REPO))
    env.pop("NUMBA_CACHE_DIR", None)
    return env


def test_strategy_kernel_tests_pass_without_jit() -> None:
    tests = [
        "tests/core/kernel/test_strategy_tanh.py",
        "tests/core/kernel/test_strategy_machine.py",
    ]
    # A small part (the rule: the plain-Python run keeps tracebacks readable, and it is
    # slow): the long real stream and the 2,000-float tanh sweep run jitted only.
    deselect = "not lobster and not any_float"
    # -p no:cacheprovider: the subprocess must not rewrite this run's pytest cache.
    args = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-k", deselect]
    args += tests
    done = subprocess.run(
        args, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout  # (the archive test skips, with its reason, without data)


def test_plain_python_kernels_give_the_jitted_numbers() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *map(str, CHAMPIONS)],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    plain = json.loads(done.stdout)
    rng = np.random.default_rng(7)
    matrix = rng.normal(scale=3.0, size=(600, 8))
    matrix[::11] = [0.0, -0.0, 1e308, -1e-308, 5e-324, np.inf, -np.inf, np.nan]
    assert len(plain) == len(CHAMPIONS) == 6
    for path in CHAMPIONS:
        s = compile_strategy(parse_strategy(path.read_bytes()))
        rows = [s.evaluate(tuple(r)) for r in matrix.tolist()]
        jitted = [s.evaluate_batch(matrix).tobytes().hex(), np.array(rows).T.tobytes().hex()]
        assert plain[str(path)] == jitted, path.name
