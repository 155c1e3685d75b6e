"""The kernel's numba cache: beside the source when writable, else in the state directory;
a fresh process compiles into an empty cache and loads from it the next time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asnd.kernel_cache import cache_dir_for

REPO = Path(__file__).resolve().parents[3]
PROBE = (
    "import json, sys; from pathlib import Path; "
    "from asnd.kernel_cache import use_cache_dir, warm_up; "
    "chosen = use_cache_dir(Path(sys.argv[1])); w = warm_up(); "
    "print(json.dumps({'dir': str(chosen), 'compiled': w.compiled}))"
)


def test_a_read_only_package_caches_in_the_state_directory(tmp_path: Path) -> None:
    package = tmp_path / "kernel"
    package.mkdir()
    assert cache_dir_for(tmp_path / "state", package) is None
    package.chmod(0o555)
    try:
        if os.access(package, os.W_OK):  # root ignores permissions: nothing to observe
            return
        assert cache_dir_for(tmp_path / "state", package) == tmp_path / "state" / "numba-cache"
    finally:
        package.chmod(0o755)


@pytest.mark.slow
def test_first_start_compiles_the_next_loads_the_cache(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NUMBA_DISABLE_JIT", None)

    def start() -> dict[str, object]:
        out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "state")], env=env,
                             capture_output=True, text=True, timeout=900, check=True)  # fmt: skip
        result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    first = start()
    assert first == {"dir": str(tmp_path / "cache"), "compiled": True}
    assert any((tmp_path / "cache").rglob("*.nbi"))  # numba's cache index files
    assert start()["compiled"] is False


def test_every_kernel_module_is_in_every_kernels_cache_stamp(tmp_path: Path) -> None:
    """numba stamps a cached function with its own file only; a callee's change (mathfn,
    strategy_ops) must still invalidate its callers: the package digest is in every stamp."""
    from asnd.core.kernel import jit, strategy

    package = tmp_path / "kernel"
    package.mkdir()
    for path in jit.PACKAGE.glob("*.py"):
        (package / path.name).write_bytes(path.read_bytes())
    assert jit._digest(package) == jit.SOURCE_DIGEST
    callee = package / "mathfn.py"
    callee.write_bytes(callee.read_bytes() + b"\n# edited\n")
    assert jit._digest(package) != jit.SOURCE_DIGEST
    # The stamp numba stores beside run_row (defined in strategy.py) carries the digest.
    run_row: Any = strategy.run_row
    if hasattr(run_row, "_cache"):  # absent under NUMBA_DISABLE_JIT=1
        stamp = run_row._cache._impl.locator.get_source_stamp()
        assert stamp[1] == jit.SOURCE_DIGEST
