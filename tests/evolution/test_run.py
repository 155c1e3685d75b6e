"""End-to-end evolution runs: planted rule found, challengers load, determinism, the oracle's
savings, bad input refused without partial files, the real archive, a Dask cluster."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest

from asnd.core.strategy import parse_strategy
from evolution.cli import main
from evolution.evaluate import LocalMap
from evolution.run import RunResult, RunSettings, SlotSizing, evolve
from evolution.search import SearchSettings
from journal.bybit_archive import read_archive
from journal.writer import JournalWriter
from tests.evolution.journals import planted_journal
from tests.html_page import HtmlPage


def _settings(journal: Path, out: Path, seed: int, *, oracle: bool) -> RunSettings:
    search = SearchSettings(population=60, generations=12, seed=seed, oracle=oracle, oversample=4)
    return RunSettings((journal,), out, 0, search=search,
                       sizing=SlotSizing(leverage=Decimal(10)), causal_weight=1.0)  # fmt: skip


def _run(settings: RunSettings, workers: int = 1) -> RunResult:
    with LocalMap(workers) as mapper:
        return evolve(settings, mapper)


def test_gp_finds_the_planted_rule_and_writes_loadable_challengers(tmp_path: Path) -> None:
    journal = planted_journal(tmp_path / "j")
    result = _run(_settings(journal, tmp_path / "out", seed=2, oracle=False))

    best = result.finalists[0]
    assert best.causal_replay >= 1.0  # reached 2x capital in the L2 replay
    assert result.search.best_fitness >= 1.0
    assert "imbalance" in best.doc.features
    assert len(result.challengers) == 3
    for path in result.challengers:
        assert path.name.startswith("strategy_challenger_0_s0-g")
        doc = parse_strategy(path.read_bytes())
        assert doc.metadata.seed == 2
        assert doc.metadata.data_start == "2024-12-01T00:00:00.000000Z"
        assert {"final", "causal_replay", "causal_vectorised"} <= set(doc.metadata.fitness)
        assert len(doc.metadata.lineage) in (0, 2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in result.challengers
    )


def test_same_seed_same_challengers_with_two_workers(tmp_path: Path) -> None:
    journal = planted_journal(tmp_path / "j", rows=300)
    a = _run(_settings(journal, tmp_path / "a", seed=4, oracle=True))
    b = _run(_settings(journal, tmp_path / "b", seed=4, oracle=True), workers=2)
    assert [p.name for p in a.challengers] == [p.name for p in b.challengers]
    assert [p.read_bytes() for p in a.challengers] == [p.read_bytes() for p in b.challengers]


def test_oracle_halves_full_evaluations_without_a_worse_best(tmp_path: Path) -> None:
    journal = planted_journal(tmp_path / "j")
    full = _run(_settings(journal, tmp_path / "full", seed=3, oracle=False))
    screened = _run(_settings(journal, tmp_path / "oracle", seed=3, oracle=True))
    print(f"without oracle: {full.search.evaluations} evaluations, best {full.search.best_fitness}")
    assert screened.search.oracle is not None
    print(f"with oracle: {screened.search.evaluations} evaluations, best "
          f"{screened.search.best_fitness}, saved {screened.search.oracle.saved}, "
          f"Spearman {screened.search.oracle.rank_correlation:.3f}")  # fmt: skip
    assert screened.search.evaluations * 2 <= full.search.evaluations
    assert screened.search.best_fitness >= full.search.best_fitness
    assert screened.search.oracle.rank_correlation > 0.3


def test_adversarial_fitness_runs_against_the_calibrated_market(tmp_path: Path) -> None:
    journal = planted_journal(tmp_path / "j", rows=300)
    search = SearchSettings(population=8, generations=1, seed=1, oracle=False)
    settings = RunSettings((journal,), tmp_path / "out", 1, search=search,
                           sizing=SlotSizing(leverage=Decimal(10)), causal_weight=0.5,
                           calibration_steps=200, calibration_evaluations=8,
                           adversarial_steps=150, finalists=2, export=1)  # fmt: skip
    result = _run(settings, workers=2)
    assert result.calibration is not None
    assert result.finalists[0].adversarial is not None
    doc = parse_strategy(result.challengers[0].read_bytes())
    assert "adversarial" in doc.metadata.fitness


def _cli(journal: Path, out: Path, *extra: str) -> int:
    return main(["run", "--journal", str(journal), "--slot", "1", "--out", str(out), "--seed",
                 "1", "--generations", "1", "--population", "6", "--workers", "1", "--quiet",
                 *extra])  # fmt: skip


def test_bad_input_is_refused_and_writes_no_challenger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    empty = tmp_path / "empty"
    JournalWriter.open(empty).close()
    assert _cli(empty, out) == 1
    assert "no market events" in capsys.readouterr().err

    assert _cli(tmp_path / "missing", out) == 2  # bad input, as for every reading command
    assert "does not exist" in capsys.readouterr().err

    short = planted_journal(tmp_path / "short", rows=10)
    assert _cli(short, out) == 1
    assert "only 10 feature rows" in capsys.readouterr().err

    flat = planted_journal(tmp_path / "flat", rows=100, move_ticks=0, flat=True)
    assert _cli(flat, out) == 1
    assert "no feature varies" in capsys.readouterr().err

    no_trades = planted_journal(tmp_path / "quiet", rows=200, trades=False)
    assert _cli(no_trades, out, "--adversarial-weight", "0.3") == 1
    assert "no trades" in capsys.readouterr().err

    assert not out.exists() or not any(out.iterdir())


def test_real_bybit_archive_end_to_end(
    tmp_path: Path, bybit_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "bybit"
    with JournalWriter.open(journal, fsync=False) as writer:
        for event in read_archive(bybit_archive):
            writer.append(event)
    out = tmp_path / "out"
    report = tmp_path / "report"
    # The archive holds no trades, so the agent market cannot be calibrated on it.
    rc = _cli(journal, out, "--adversarial-weight", "0", "--report", str(report))
    assert rc == 0, capsys.readouterr().err
    files = sorted(out.glob("strategy_challenger_1_*.json"))
    assert files
    for f in files:
        assert parse_strategy(f.read_bytes()).metadata.data_start is not None
    assert (report / "fitness.png").is_file()
    text = (report / "report.txt").read_text()
    assert "XRPUSDT" in text
    assert "\x1b" not in text  # plain columns in the file, whatever the terminal
    # The generations table (journal.texttable) has one row per generation of report.json.
    lines = [line.split() for line in text.splitlines()]
    head = lines.index(["generation", "best", "mean", "median", "evals", "size"])
    generations = json.loads((report / "report.json").read_text())["generations"]
    for g, row in zip(generations, lines[head + 1 :], strict=False):
        assert row[:2] == [str(g["generation"]), f"{g['best']:.4f}"]
    assert lines[head + 1 + len(generations)][:2] == ["full", "evaluations:"]
    assert ["id", "final", "causal_replay", "vectorised", "adversarial"] in lines
    page = HtmlPage()
    page.feed((report / "report.html").read_text())
    assert page.captions[0] == "run"
    assert page.captions[2:] == [
        "generations",
        "hall of fame (causal fitness re-scored by L2 replay)",
    ]
    assert page.captions[1].startswith("causal parents (GP inputs)")
    generations = json.loads((report / "report.json").read_text())["generations"]
    assert len(page.tables[2]) == 1 + len(generations)
    assert page.images == [
        "data:image/png;base64," + base64.b64encode((report / n).read_bytes()).decode()
        for n in ("fitness.png", "causal.png")
    ]
    assert page.links == []


def test_dask_cluster_gives_the_local_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="dask distributed is not installed")
    from evolution.evaluate import DaskMap

    journal = planted_journal(tmp_path / "j", rows=300)
    local = _run(_settings(journal, tmp_path / "local", seed=6, oracle=True))
    cluster = distributed.LocalCluster(
        n_workers=1, processes=False, host="127.0.0.1", protocol="tcp", dashboard_address=":0"
    )
    with cluster, DaskMap(cluster.scheduler_address) as mapper:
        remote = evolve(_settings(journal, tmp_path / "dask", seed=6, oracle=True), mapper)
    assert [p.read_bytes() for p in local.challengers] == [
        p.read_bytes() for p in remote.challengers
    ]
