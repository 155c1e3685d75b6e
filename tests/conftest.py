"""Shared fixtures. ``shared_data`` is the real market data beside the checkout
(``<repo>/../shared/data``, or ``$ASN_SHARED_DATA``); tests that need it skip with a reason
when it is absent. A git worktree kept one folder deeper (``<root>/wt/<name>``) finds
``<root>/shared/data``."""

from __future__ import annotations

import os
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
