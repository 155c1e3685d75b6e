"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def shared_data() -> Path:
    """``<repo>/../shared/data``: real market data recorded from venues (see its README).

    A git worktree kept one folder deeper (``<root>/wt/<name>``) finds ``<root>/shared/data``.
    """
    candidates = [_REPO.parent / "shared" / "data", _REPO.parent.parent / "shared" / "data"]
    for path in candidates:
        if path.is_dir():
            return path
    pytest.skip(f"shared market data not found at {candidates[0]}")
