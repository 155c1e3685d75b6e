"""The default champions in ``etc/strategies`` load, compile, differ, and speak on real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asnd.core.kernel.frame import frame_from_events
from asnd.core.strategy import compile_strategy, parse_strategy, to_json
from journal.bybit_archive import read_archive

ETC = Path(__file__).resolve().parents[2] / "etc" / "strategies"
#: The defaults of etc/asnd.toml, in slot order.
SYMBOLS = ("btcusdt", "ethusdt", "solusdt", "xrpusdt", "dogeusdt", "bnbusdt")
NUMBERED = [ETC / f"champion_{s}.json" for s in SYMBOLS]
FILES = sorted(ETC.glob("champion_*.json"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_champion_is_a_valid_v1_document_named_after_its_file(path: Path) -> None:
    doc = parse_strategy(path.read_bytes())
    assert doc.source_version == 1
    assert doc.id == path.stem.replace("_", "-")
    assert parse_strategy(to_json(doc)) == doc
    compile_strategy(doc)


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_a_numbered_champion_stays_out_of_a_balanced_book(path: Path) -> None:
    strategy = compile_strategy(parse_strategy(path.read_bytes()))
    neutral = (0.5, 0.5, 0.5, 1.0, 0.0, 0.0, 0.0, 0.0)  # a balanced book, no flow
    assert -0.5 <= strategy.signal(neutral) <= 0.5, "a balanced book is no reason to trade"


def test_the_numbered_champions_are_six_different_trees() -> None:
    assert set(NUMBERED) <= set(FILES)
    docs = [parse_strategy(p.read_bytes()) for p in NUMBERED]
    assert len({(d.signal, d.size) for d in docs}) == 6


def test_every_champion_gives_finite_signals_on_the_real_archive(bybit_archive: Path) -> None:
    frame = frame_from_events(read_archive(bybit_archive), "XRPUSDT")
    assert len(frame) > 0
    for path in FILES:
        strategy = compile_strategy(parse_strategy(path.read_bytes()))
        signals = strategy.signal_batch(frame.values)
        assert np.isfinite(signals).all(), path.name
        assert np.isfinite(strategy.size_batch(frame.values)).all(), path.name
