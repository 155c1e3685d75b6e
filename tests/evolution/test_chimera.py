"""CMA-ES recovers the genome that generated a market from its stylized facts alone."""

from __future__ import annotations

from asnd.core.agent_market import SimConfig
from evolution.chimera import calibrate, genome_from, simulate, vector_of
from evolution.evaluate import LocalMap

GENES = ("aggressiveness", "mm_half_spread_ticks", "trader_size_lots")
#: Recovered genes must be within this fraction of each gene's range (Genome.BOUNDS).
TOLERANCE = 0.1


def test_cma_es_recovers_a_planted_genome() -> None:
    config = SimConfig()
    planted = genome_from([0.7, 0.5, 0.3], GENES)
    # The "real" market runs with another seed than the calibration's simulations.
    real = simulate(config, planted, seed=7, steps=600)

    with LocalMap(2) as mapper:
        fit = calibrate(real, config, mapper, genes=GENES, seed=1, steps=600, max_evaluations=60)

    got = vector_of(fit.genome, GENES)
    want = vector_of(planted, GENES)
    assert all(abs(g - w) <= TOLERANCE for g, w in zip(got, want, strict=True)), (got, want)
    assert fit.distance < 0.1
    assert fit.evaluations <= 70
    report = fit.report()
    for fact in ("volatility", "spread", "autocorrelation", "imbalance", "trade_size"):
        assert fact in report
