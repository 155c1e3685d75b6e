"""Shared fixtures: where the real market data for tests lives."""

from __future__ import annotations

from pathlib import Path

import pytest

_SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``<repo>/../shared/data``; skips the test when the folder is absent."""
    if not _SHARED_DATA.is_dir():
        pytest.skip(f"shared market data not found at {_SHARED_DATA}")
    return _SHARED_DATA
