"""The evolution run's figures: the causal links heat map and the fitness per generation.

Each is built as a matplotlib ``Figure`` (so a test can check its layout) and saved by
``save``. Readable at a glance: the figure is sized from its content (one cell per lag and
feature, room for the longest feature name) and laid out by matplotlib's constrained layout,
so the title, tick labels, colour bar and cell texts never overlap or leave the image;
generations are whole numbers on the axis; values are plain numbers (no offset notation).
Figures are made without pyplot (no global state, no display) and matplotlib is imported only
when one is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from evolution.causal import CausalSelection
    from evolution.search import GenerationStats

__all__ = ["causal_figure", "fitness_figure", "save"]

_META: Final = {"Software": None}  # no version string: the same run, the same bytes


def _p_text(p: float) -> str:
    # PCMCI reports a p-value below double precision as 0, which is not a probability.
    return "p<1e-10" if p < 1e-10 else f"p={p:.2g}"


def causal_figure(selection: CausalSelection, target: str) -> Figure:
    """The links into ``target`` as a feature x lag heat map of partial correlations, each
    cell showing its p-value; the causal parents (the GP's inputs) boxed."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    t, lags = len(selection.tested), selection.tau_max
    vals = selection.val_matrix[:t, t, 1:]
    label_in = 0.09 * max((len(n) for n in selection.tested), default=4)
    fig = Figure(figsize=(1.6 + label_in + 0.95 * lags, 1.5 + 0.42 * t), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(vals, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(lags), [f"lag {k}" for k in range(1, lags + 1)])
    ax.set_yticks(range(t), list(selection.tested))
    for p in selection.parents:
        i = selection.tested.index(p.feature)
        ax.add_patch(Rectangle((p.lag - 1.5, i - 0.5), 1, 1, fill=False, lw=2.5, ec="k"))
    for i in range(t):
        for k in range(lags):
            strong = abs(float(vals[i, k])) > 0.6  # dark cell: white text
            ax.text(k, i, _p_text(float(selection.p_matrix[i, t, k + 1])), ha="center",
                    va="center", fontsize=7, color="white" if strong else "black")  # fmt: skip
    ax.set_title(f"causal links into {target}\n(boxed: GP inputs)", fontsize=10)
    fig.colorbar(im, ax=ax, label="partial correlation", shrink=0.9)
    return fig


def fitness_figure(history: Sequence[GenerationStats], symbol: str) -> Figure:
    """Best, mean and median fitness per generation (whole generations on the x axis)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    gens = [g.generation for g in history]
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(gens, [g.best for g in history], label="best", marker="o", ms=4)
    ax.plot(gens, [g.mean for g in history], label="mean")
    ax.plot(gens, [g.median for g in history], label="median", linestyle="--")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    ax.yaxis.set_major_formatter(formatter)
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness (TTT)")
    ax.set_title(f"{symbol}: fitness per generation")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def save(fig: Figure, path: Path) -> None:
    """``fig`` as a PNG at ``path``."""
    fig.savefig(path, dpi=90, metadata=_META)
