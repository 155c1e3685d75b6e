"""The evolution run's figures are readable: every label inside the image and clear of the
others, whole generations on the fitness axis, plain numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from evolution.causal import TARGET, CausalSelection, Parent
from evolution.plots import causal_figure, fitness_figure, save
from evolution.search import GenerationStats

FEATURES = ("imbalance", "microprice_dev_ticks", "volatility_ticks", "ofi", "spread_ticks")


def selection(tau_max: int) -> CausalSelection:
    rng = np.random.default_rng(3)
    n = len(FEATURES) + 1
    vals = rng.uniform(-0.9, 0.9, (n, n, tau_max + 1))
    p = rng.uniform(0, 1, (n, n, tau_max + 1))
    p[0, n - 1, 1] = 1.234e-7  # a long p-value text
    parents = (Parent("imbalance", 1, float(vals[0, n - 1, 1]), 1.234e-7),)
    return CausalSelection(parents, FEATURES, (), False, 0.01, tau_max, 500, vals, p)


def _hidden_tick_labels(fig: Figure) -> set[int]:
    """Tick labels matplotlib keeps but does not draw: those of ticks outside the view."""
    hidden: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return hidden


def texts(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every text drawn in ``fig`` and where it is, in pixels."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    hidden = _hidden_tick_labels(fig)
    found = []
    for artist in fig.findobj(Text):
        if artist.get_visible() and artist.get_text().strip() and id(artist) not in hidden:
            found.append((artist.get_text(), artist.get_window_extent(renderer)))
    return found


def assert_inside(fig: Figure) -> list[tuple[str, Bbox]]:
    bounds = fig.bbox
    found = texts(fig)
    for text, box in found:
        assert box.x0 >= bounds.x0 - 0.5, f"{text!r} leaves the figure on the left"
        assert box.x1 <= bounds.x1 + 0.5, f"{text!r} leaves the figure on the right"
        assert box.y0 >= bounds.y0 - 0.5, f"{text!r} leaves the figure at the bottom"
        assert box.y1 <= bounds.y1 + 0.5, f"{text!r} leaves the figure at the top"
    return found


@pytest.mark.parametrize("tau_max", [1, 2, 3])
def test_every_causal_label_fits_and_no_two_overlap(tau_max: int, tmp_path: Path) -> None:
    fig = causal_figure(selection(tau_max), TARGET)
    found = assert_inside(fig)
    names = {t for t, _ in found}
    assert set(FEATURES) <= names
    assert "partial correlation" in names
    assert any(t.startswith("causal links into forward_return") for t in names)
    cells = [(t, b) for t, b in found if t.startswith("p=")]
    assert len(cells) == len(FEATURES) * tau_max
    for i, (a, box_a) in enumerate(cells):
        for b, box_b in cells[i + 1 :]:
            assert not box_a.overlaps(box_b), f"{a!r} and {b!r} run together"
    save(fig, tmp_path / f"causal{tau_max}.png")
    assert (tmp_path / f"causal{tau_max}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fitness_plot_has_whole_generations_and_plain_numbers(tmp_path: Path) -> None:
    history = [
        GenerationStats(0, 0.5, 0.49987, 0.4999, 60, 5.0),
        GenerationStats(1, 0.5, 0.49994, 0.49993, 60, 5.5),
    ]
    fig = fitness_figure(history, "XRPUSDT")
    assert_inside(fig)
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks
    assert all(float(t).is_integer() for t in ticks), ticks
    assert ax.yaxis.get_offset_text().get_text() == "", "no offset notation"
    save(fig, tmp_path / "fitness.png")
