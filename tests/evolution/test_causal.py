"""PCMCI keeps the planted cause of the forward return and drops a correlated bystander."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evolution.causal import CausalError, select_causal, select_features
from evolution.dataset import load_dataset
from tests.evolution.journals import planted_journal


def test_planted_cause_is_selected_and_correlated_feature_dropped(tmp_path: Path) -> None:
    ds = load_dataset([planted_journal(tmp_path / "j", rows=500)])
    imbalance = ds.features[:, ds.names.index("imbalance")]
    pressure = ds.features[:, ds.names.index("pressure")]
    assert np.corrcoef(imbalance, pressure)[0, 1] > 0.8  # the bystander is strongly correlated

    selection = select_features(ds, tau_max=2)

    assert "imbalance" in selection.features
    assert "pressure" not in selection.features
    assert not selection.fallback
    parent = next(p for p in selection.parents if p.feature == "imbalance")
    assert parent.lag == 1
    assert "imbalance at lag 1" in selection.report()
    selection.save_png(tmp_path / "causal.png")
    assert (tmp_path / "causal.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_constant_features_are_an_error_when_nothing_varies() -> None:
    rng = np.random.default_rng(0)
    features = np.ones((200, 2))
    target = rng.normal(size=200)
    with pytest.raises(CausalError, match="no feature varies"):
        select_causal(features, ("imbalance", "pressure"), target)
