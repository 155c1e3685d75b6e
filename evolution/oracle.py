"""The fitness oracle: a LightGBM surrogate that pre-screens offspring (surrogate-assisted
evolution, the blueprint's ``sae_oracle``).

An individual is described by its *behaviour* and its *shape*:

- behaviour: on a fixed reference sample of feature rows (drawn once per run with the run's
  seed), the decision side (-1, 0, 1) and ``tanh`` of the signal and of the size, per row;
  two individuals that behave alike there are likely to score alike, whatever their trees
  look like;
- shape: node count and height of each tree, number of features read.

The oracle learns ``descriptor -> true fitness`` from every individual that got a full
evaluation, refitting after each generation. Each generation the search draws more
candidates than it will evaluate; the oracle ranks them and only the best predicted get a
full evaluation; the rest are discarded unevaluated (counted as evaluations saved). Its
quality is tracked as the Spearman rank correlation between its predictions and the true
fitness of the candidates it let through, measured before it saw them.

LightGBM runs single-threaded and deterministic with the run's seed, so the screen, and
therefore the run, is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from asnd.core.strategy import StrategyDocument, compile_strategy, node_count, node_depth

__all__ = ["FitnessOracle", "OracleStats", "spearman"]

Floats = npt.NDArray[np.float64]


def spearman(a: Floats, b: Floats) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import spearmanr

    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


@dataclass(slots=True)
class OracleStats:
    candidates: int = 0  # offspring the oracle ranked
    evaluated: int = 0  # of those, sent to a full evaluation
    predicted: list[float] = field(default_factory=list)
    actual: list[float] = field(default_factory=list)

    @property
    def saved(self) -> int:
        return self.candidates - self.evaluated

    @property
    def rank_correlation(self) -> float:
        return spearman(np.asarray(self.predicted), np.asarray(self.actual))


class FitnessOracle:
    """Describe, learn, rank. ``min_train`` full evaluations are needed before it ranks."""

    def __init__(
        self, reference_rows: Floats, columns: tuple[str, ...], seed: int, *, min_train: int = 12
    ) -> None:
        self.reference = np.ascontiguousarray(reference_rows)
        self.columns = columns
        self.seed = seed
        self.min_train = min_train
        self._x: list[Floats] = []
        self._y: list[float] = []
        self._model: object | None = None
        self.stats = OracleStats()

    def describe(self, doc: StrategyDocument) -> Floats:
        sig, size = compile_strategy(doc, self.columns).evaluate_batch(self.reference)
        p = doc.params
        with np.errstate(invalid="ignore"):
            side = np.where(sig > p.entry_long, 1.0, np.where(sig < p.entry_short, -1.0, 0.0))
            shape = [
                node_count(doc.signal),
                node_depth(doc.signal),
                node_count(doc.size),
                node_depth(doc.size),
                len(doc.features),
            ]
            return np.concatenate(
                [
                    side,
                    np.nan_to_num(np.tanh(sig)),
                    np.nan_to_num(np.tanh(size)),
                    np.asarray(shape, dtype=np.float64),
                ]
            )

    @property
    def ready(self) -> bool:
        return self._model is not None

    def learn(self, descriptors: list[Floats], fitness: list[float]) -> None:
        """Add fully evaluated individuals and refit."""
        self._x.extend(descriptors)
        self._y.extend(fitness)
        if len(self._y) < self.min_train or np.ptp(self._y) == 0:
            return
        import lightgbm as lgb

        params = {
            "objective": "regression",
            "learning_rate": 0.1,
            "num_leaves": 15,
            "min_data_in_leaf": 3,
            "min_data_in_bin": 1,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbosity": -1,
        }
        data = lgb.Dataset(np.vstack(self._x), np.asarray(self._y), params={"verbosity": -1})
        model = lgb.train(params, data, num_boost_round=60)
        self._model = model

    def predict(self, descriptors: list[Floats]) -> Floats:
        if self._model is None:
            raise RuntimeError("the oracle has not been trained yet")
        out: Floats = self._model.predict(np.vstack(descriptors))  # type: ignore[attr-defined]
        return np.asarray(out, dtype=np.float64)

    def screen(self, descriptors: list[Floats], keep: int) -> tuple[list[int], Floats]:
        """Indices of the ``keep`` best-predicted candidates (ties: lower index first) and all
        predictions."""
        pred = self.predict(descriptors)
        order = sorted(range(len(descriptors)), key=lambda i: (-pred[i], i))
        self.stats.candidates += len(descriptors)
        self.stats.evaluated += min(keep, len(descriptors))
        return sorted(order[:keep]), pred

    def record(self, predicted: list[float], actual: list[float]) -> None:
        self.stats.predicted.extend(predicted)
        self.stats.actual.extend(actual)
