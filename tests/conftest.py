"""Shared fixtures: where the real market data for tests lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# ASN_SHARED_DATA points elsewhere, e.g. from a git worktree that does not sit beside it.
_SHARED_DATA = Path(
    os.environ.get("ASN_SHARED_DATA")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
)


@pytest.fixture
def shared_data() -> Path:
    """``<repo>/../shared/data`` (or ``$ASN_SHARED_DATA``); skips the test when it is absent."""
    if not _SHARED_DATA.is_dir():
        pytest.skip(f"shared market data not found at {_SHARED_DATA}")
    return _SHARED_DATA
