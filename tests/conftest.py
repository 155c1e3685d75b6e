"""Shared fixtures. ``shared_data`` is the real market data beside the checkout
(``<repo>/../shared/data``); tests that need it skip with a reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def bybit_archive(shared_data: Path) -> Path:
    path = shared_data / "bybit" / "xrpusdt-ob500.data.zip"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path
