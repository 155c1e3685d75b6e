"""Causal feature selection: tigramite's PCMCI with ParCorr over the features and the return.

Variables: every feature column that varies, and the target ``y_t = mid_t / mid_{t-h} - 1``
(the forward return of row ``t - h`` over ``h = horizon_rows`` rows, placed at the row where
it is realised). PCMCI tests lagged links ``X_{t-tau} -> y_t`` for ``tau`` in
``1..tau_max`` (rows), conditioning on the other variables' pasts, so a feature that only
correlates with the return through a causal one (a noisy copy, a common driver) is dropped.

A feature is a causal parent when one of its lagged links to ``y`` has a p-value below
``alpha``; its chosen lag is the most significant one. Only parents become GP inputs.

- Constant columns are left out and listed in the report (ParCorr cannot test them); if no
  feature varies, or the mid never moves, ``CausalError`` says so.
- If no link passes ``alpha`` (typical of a few seconds of data), the single most
  significant feature is used as a fallback and marked ``fallback`` in the report, so a
  short run still has an input; the report never hides it.
- Journal boundaries: the first ``h + tau_max`` rows of each journal are masked out, so no
  link is tested across two journals.
- At most ``max_rows`` (the most recent) rows are used: PCMCI's cost grows with the sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evolution.dataset import Dataset
from journal.texttable import render_table

__all__ = ["CausalError", "CausalSelection", "Parent", "select_causal", "select_features"]

TARGET = "forward_return"


class CausalError(ValueError):
    """The data cannot support causal selection (no varying feature, flat price, ...)."""


@dataclass(frozen=True, slots=True)
class Parent:
    feature: str
    lag: int  # rows
    strength: float  # ParCorr partial correlation of the link
    p_value: float


@dataclass(frozen=True, slots=True)
class CausalSelection:
    parents: tuple[Parent, ...]  # the GP's inputs, strongest first
    tested: tuple[str, ...]  # features given to PCMCI
    constant: tuple[str, ...]  # features left out: no variance
    fallback: bool  # no link passed alpha; the strongest one was taken
    alpha: float
    tau_max: int
    rows: int
    val_matrix: npt.NDArray[np.float64]  # (vars, vars, tau_max + 1), target last
    p_matrix: npt.NDArray[np.float64]

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(p.feature for p in self.parents)

    def report(self) -> str:
        lines = [
            f"PCMCI (ParCorr) over {self.rows} rows, lags 1..{self.tau_max}, alpha {self.alpha}",
            f"tested: {', '.join(self.tested)}",
        ]
        if self.constant:
            lines.append(f"left out (no variance): {', '.join(self.constant)}")
        lines.append(f"links to {TARGET} (p-value, partial correlation) per lag:")
        t = len(self.tested)
        lags = range(1, self.tau_max + 1)
        heads = ["feature", *(f"{x}_lag{tau}" for tau in lags for x in ("p", "r"))]
        rows = [
            [name, *(f"{m[i, t, tau]:{f}}" for tau in lags
                     for m, f in ((self.p_matrix, ".3g"), (self.val_matrix, "+.3f")))]
            for i, name in enumerate(self.tested)
        ]  # fmt: skip
        # Written into report.txt, never a terminal: plain columns.
        lines.append(render_table(heads, rows, tty=False))
        lines.append(
            "causal parents (GP inputs):"
            + (" [FALLBACK: none passed alpha]" if self.fallback else "")
        )
        for p in self.parents:
            lines.append(f"  {p.feature} at lag {p.lag}: r={p.strength:+.3f} p={p.p_value:.3g}")
        return "\n".join(lines)

    def save_png(self, path: Path) -> None:
        """The links into the target as a lag x feature heat map; parents are boxed."""
        from evolution.plots import causal_figure, save

        save(causal_figure(self, TARGET), path)


def select_features(
    dataset: Dataset, *, tau_max: int = 3, alpha: float = 0.01, max_rows: int = 20_000
) -> CausalSelection:
    """PCMCI over a dataset's features and its forward return (see the module doc)."""
    h = dataset.horizon_rows
    mid = dataset.mid_x2_ticks.astype(np.float64)
    target = np.full(mid.size, np.nan)
    mask = np.zeros(mid.size, dtype=bool)
    for lo, hi in dataset.segments:
        target[lo + h : hi] = mid[lo + h : hi] / mid[lo : hi - h] - 1.0
        mask[lo : min(hi, lo + h + tau_max)] = True
    return select_causal(
        dataset.features,
        dataset.names,
        target,
        mask=mask,
        tau_max=tau_max,
        alpha=alpha,
        max_rows=max_rows,
    )


def select_causal(
    features: npt.NDArray[np.float64],
    names: tuple[str, ...],
    target: npt.NDArray[np.float64],
    *,
    mask: npt.NDArray[np.bool_] | None = None,
    tau_max: int = 3,
    alpha: float = 0.01,
    max_rows: int = 20_000,
) -> CausalSelection:
    """PCMCI on ``features`` (rows x names) and ``target`` (per row; NaN = missing)."""
    from tigramite import data_processing as pp
    from tigramite.independence_tests.parcorr import ParCorr
    from tigramite.pcmci import PCMCI

    if tau_max < 1:
        raise ValueError("tau_max must be at least 1")
    x = features[-max_rows:]
    y = target[-max_rows:]
    m = np.zeros(y.size, dtype=bool) if mask is None else mask[-max_rows:].copy()
    m |= ~np.isfinite(y)
    usable = ~m
    if usable.sum() < 4 * (tau_max + 1):
        raise CausalError(f"only {int(usable.sum())} usable rows for PCMCI with tau_max {tau_max}")
    varying = [j for j in range(x.shape[1]) if np.ptp(x[usable, j]) > 0.0]
    constant = tuple(names[j] for j in range(x.shape[1]) if j not in varying)
    if not varying:
        raise CausalError(f"no feature varies in the data (all constant: {', '.join(constant)})")
    if np.ptp(y[usable]) == 0.0:
        raise CausalError("the mid price never moves in the data: there is no return to explain")
    tested = tuple(names[j] for j in varying)
    data = np.column_stack([x[:, varying], np.where(usable, y, 0.0)])
    data_mask = np.repeat(m[:, None], data.shape[1], axis=1)
    frame = pp.DataFrame(data, mask=data_mask, var_names=[*tested, TARGET])
    pcmci = PCMCI(
        dataframe=frame,
        cond_ind_test=ParCorr(significance="analytic", mask_type="xyz"),
        verbosity=0,
    )
    results = pcmci.run_pcmci(tau_min=1, tau_max=tau_max, pc_alpha=0.05, alpha_level=alpha)
    val = np.asarray(results["val_matrix"], dtype=np.float64)
    p = np.asarray(results["p_matrix"], dtype=np.float64)
    t = len(tested)
    parents = []
    for i, name in enumerate(tested):
        lags = p[i, t, 1:]
        k = int(np.argmin(lags)) + 1
        if p[i, t, k] < alpha:
            parents.append(Parent(name, k, float(val[i, t, k]), float(p[i, t, k])))
    fallback = not parents
    if fallback:
        flat = int(np.argmin(p[:t, t, 1:]))
        i, k = flat // tau_max, flat % tau_max
        parents.append(
            Parent(tested[i], int(k) + 1, float(val[i, t, k + 1]), float(p[i, t, k + 1]))
        )
    parents.sort(key=lambda q: (q.p_value, -abs(q.strength)))
    return CausalSelection(
        tuple(parents), tested, constant, fallback, alpha, tau_max, int(usable.sum()), val, p
    )
