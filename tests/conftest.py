"""Shared fixtures. ``shared_data`` is the real market data beside the checkout
(``<repo>/../shared/data``, or ``$ASN_SHARED_DATA``); tests that need it skip with a reason
when it is absent. A git worktree kept one folder deeper (``<root>/wt/<name>``) finds
``<root>/shared/data``."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis's timing checks (too_slow input generation, per-example deadlines) measure the
# machine, not the code: on a loaded 2-core CI runner they failed property tests whose inputs
# were fine. Example counts and every other health check stay as each test sets them.
settings.register_profile(
    "asn", suppress_health_check=[HealthCheck.too_slow], deadline=None, print_blob=True
)
settings.load_profile("asn")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
_WORKTREE_SHARED_DATA = REPO.parent.parent / "shared" / "data"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook starts the workers
def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile (or load) the kernel once, before any test, into the cache beside the source
    that every subprocess the suite starts shares: a daemon started by a test then loads it
    in seconds instead of compiling for a minute inside its READY timeout. Under xdist only
    the controller does it (the workers then load the cache like any other process)."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1" or hasattr(session.config, "workerinput"):
        return
    from asnd.kernel_cache import warm_up

    warm_up()


def _shared_data() -> Path:
    env = os.environ.get("ASN_SHARED_DATA")
    for path in (Path(env) if env else None, SHARED_DATA, _WORKTREE_SHARED_DATA):
        if path is not None and path.is_dir():
            return path
    pytest.skip(f"real market data not found at {SHARED_DATA}")


@pytest.fixture
def shared_data() -> Path:
    return _shared_data()


@pytest.fixture
def bybit_archive(shared_data: Path) -> Path:
    path = shared_data / "bybit" / "xrpusdt-ob500.data.zip"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


#: The Binance recordings in ``shared/data/binance``: name -> its files, in stream order.
BINANCE_RECORDINGS: dict[str, tuple[str, ...]] = {
    "usdm": ("usdm/btcusdt_20240808.gz",),
    "spot": ("spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"),
    "cm": ("cm/btcusd_perp_20240808.gz", "cm/btcusd_perp_20240809.gz"),
}


@pytest.fixture(scope="session")
def binance_journals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every Binance recording imported once by ``asn-journal import-binance`` (real
    subprocesses, run side by side): name -> journal directory. The feed tests and the kernel
    differential test read the same journals, and so do all pytest-xdist workers: the first
    to get here imports under a lock in their shared temporary root, the others wait and
    reuse its journals."""
    root = _shared_data() / "binance"
    files = {name: [root / f for f in names] for name, names in BINANCE_RECORDINGS.items()}
    missing = [str(f) for fs in files.values() for f in fs if not f.is_file()]
    if missing:
        pytest.skip(f"Binance feeds not found: {', '.join(missing)}")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "binance-journals"
    with (shared / "binance-journals.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (out / "done").is_file():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            _import_binance(files, out)
            (out / "done").touch()
    return {name: out / name for name in files}


def _import_binance(files: dict[str, list[Path]], out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "journal.cli", "import-binance", str(out / name), *map(str, fs)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, fs in files.items()
    }
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"import-binance {name}: {stderr}"
        assert stdout.splitlines()[-1].startswith("imported "), stdout
