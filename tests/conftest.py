"""Shared fixtures. ``shared_data`` is the real market data beside the checkout
(``<repo>/../shared/data``, or ``$ASN_SHARED_DATA``); tests that need it skip with a reason
when it is absent. A git worktree kept one folder deeper (``<root>/wt/<name>``) finds
``<root>/shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
_WORKTREE_SHARED_DATA = REPO.parent.parent / "shared" / "data"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile (or load) the kernel once, before any test, into the cache beside the source
    that every subprocess the suite starts shares: a daemon started by a test then loads it
    in seconds instead of compiling for a minute inside its READY timeout."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return
    from asnd.kernel_cache import warm_up

    warm_up()


@pytest.fixture
def shared_data() -> Path:
    env = os.environ.get("ASN_SHARED_DATA")
    for path in (Path(env) if env else None, SHARED_DATA, _WORKTREE_SHARED_DATA):
        if path is not None and path.is_dir():
            return path
    pytest.skip(f"real market data not found at {SHARED_DATA}")


@pytest.fixture
def bybit_archive(shared_data: Path) -> Path:
    path = shared_data / "bybit" / "xrpusdt-ob500.data.zip"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path
