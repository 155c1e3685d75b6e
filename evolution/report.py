"""The run report: text and JSON summaries and PNG plots (fitness curves, causal graph).

``write_report(result, directory)`` writes ``report.txt`` (causal selection, Chimera fit
fact by fact, generations, oracle figures, hall of fame with fitness components and trees),
``report.json`` (the same figures), ``report.html`` (the same as tables with the plots
inline, one self-contained page), ``fitness.png`` (best/mean/median fitness per generation)
and ``causal.png`` (the links into the forward return). matplotlib runs on the
Agg backend: no display needed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from asnd.core.strategy.document import node_to_json
from evolution.run import RunResult
from journal.htmlpage import html_page, image, table
from journal.texttable import render_table

__all__ = ["summary", "write_report"]


def summary(result: RunResult) -> dict[str, Any]:
    s = result.search
    oracle = None
    if s.oracle is not None:
        oracle = {
            "candidates": s.oracle.candidates,
            "evaluated": s.oracle.evaluated,
            "saved": s.oracle.saved,
            "spearman": s.oracle.rank_correlation,
        }
    return {
        "symbol": result.dataset.symbol,
        "rows": len(result.dataset),
        "data_range": [result.dataset.data_start, result.dataset.data_end],
        "causal_parents": [
            {"feature": p.feature, "lag": p.lag, "r": p.strength, "p": p.p_value}
            for p in result.causal.parents
        ],
        "causal_fallback": result.causal.fallback,
        "calibration": None
        if result.calibration is None
        else {
            "distance": result.calibration.distance,
            "terms": result.calibration.terms,
            "genes": {g: getattr(result.calibration.genome, g) for g in result.calibration.genes},
        },
        "generations": [
            {
                "generation": g.generation,
                "best": g.best,
                "mean": g.mean,
                "median": g.median,
                "evaluations": g.evaluations,
                "mean_size": g.mean_size,
            }
            for g in s.history
        ],
        "evaluations": s.evaluations,
        "oracle": oracle,
        "finalists": [
            {
                "id": f.doc.id,
                "final": f.final,
                "causal_replay": f.causal_replay,
                "causal_vectorised": f.causal_vectorised,
                "adversarial": f.adversarial,
                "signal": node_to_json(f.doc.signal),
                "size": node_to_json(f.doc.size),
            }
            for f in result.finalists
        ],
        "challengers": [str(p) for p in result.challengers],
    }


def write_report(result: RunResult, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data = summary(result)
    (directory / "report.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        f"evolution run: {data['symbol']}, {data['rows']} rows, "
        f"{data['data_range'][0]} .. {data['data_range'][1]}",
        "",
        result.causal.report(),
        "",
    ]
    if result.calibration is not None:
        lines += [result.calibration.report(), ""]
    generations = [
        (g.generation, f"{g.best:.4f}", f"{g.mean:.4f}", f"{g.median:.4f}", g.evaluations,
         f"{g.mean_size:.1f}")
        for g in result.search.history
    ]  # fmt: skip
    # A file, never a terminal: plain columns whatever stdout is.
    heads = ("generation", "best", "mean", "median", "evals", "size")
    lines.append(render_table(heads, generations, tty=False))
    lines.append(f"full evaluations: {result.search.evaluations}")
    if data["oracle"] is not None:
        o = data["oracle"]
        lines.append(
            f"oracle: ranked {o['candidates']}, evaluated {o['evaluated']}, "
            f"saved {o['saved']}, Spearman vs true fitness {o['spearman']:.3f}"
        )
    lines += ["", "hall of fame (finalists, causal fitness re-scored by L2 replay):"]
    finalists = [
        (f.doc.id, f"{f.final:.4f}", f"{f.causal_replay:.4f}", f"{f.causal_vectorised:.4f}",
         None if f.adversarial is None else f"{f.adversarial:.4f}")
        for f in result.finalists
    ]  # fmt: skip
    fame = ("id", "final", "causal_replay", "vectorised", "adversarial")
    lines.append(render_table(fame, finalists, tty=False))
    for f in result.finalists:
        lines.append(f"  {f.doc.id}:")
        lines.append(f"    signal {json.dumps(node_to_json(f.doc.signal))}")
        lines.append(f"    size   {json.dumps(node_to_json(f.doc.size))}")
    (directory / "report.txt").write_text("\n".join(lines) + "\n")
    _fitness_png(result, directory / "fitness.png")
    result.causal.save_png(directory / "causal.png")
    _html(data, directory)
    names = ("report.txt", "report.json", "report.html", "fitness.png", "causal.png")
    return [directory / n for n in names]


def _figure(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else "- (nothing ranked)"


def _html(data: dict[str, Any], directory: Path) -> None:
    """``report.html``: the figures of ``report.json`` as tables, the two plots inline."""
    oracle = data["oracle"]
    run = [
        ("symbol", data["symbol"]), ("rows", data["rows"]),
        ("data", f"{data['data_range'][0]} .. {data['data_range'][1]}"),
        ("full evaluations", data["evaluations"]),
        ("oracle", "-" if oracle is None else
         f"ranked {oracle['candidates']}, evaluated {oracle['evaluated']}, saved "
         f"{oracle['saved']}, Spearman vs true fitness {_figure(oracle['spearman'])}"),
        ("challengers", ", ".join(Path(c).name for c in data["challengers"]) or "-"),
    ]  # fmt: skip
    caption = "causal parents (GP inputs)" + (
        ", FALLBACK: none passed alpha" if data["causal_fallback"] else ""
    )
    parts = [
        table("run", ("", ""), run),
        table(caption, ("feature", "lag", "partial correlation", "p-value"),
              ((p["feature"], p["lag"], f"{p['r']:+.3f}", f"{p['p']:.3g}")
               for p in data["causal_parents"])),
        table("generations", ("generation", "best", "mean", "median", "evaluations", "mean size"),
              ((g["generation"], f"{g['best']:.4f}", f"{g['mean']:.4f}", f"{g['median']:.4f}",
                g["evaluations"], f"{g['mean_size']:.1f}") for g in data["generations"])),
        table("hall of fame (causal fitness re-scored by L2 replay)",
              ("strategy", "final", "causal replay", "vectorised", "adversarial"),
              ((f["id"], f"{f['final']:.4f}", f"{f['causal_replay']:.4f}",
                f"{f['causal_vectorised']:.4f}",
                None if f["adversarial"] is None else f"{f['adversarial']:.4f}")
               for f in data["finalists"])),
        image(directory / "fitness.png", "fitness per generation"),
        image(directory / "causal.png", "causal links"),
    ]  # fmt: skip
    page = html_page(f"asn-evolve: {data['symbol']}", parts)
    (directory / "report.html").write_text(page, encoding="utf-8")


def _fitness_png(result: RunResult, path: Path) -> None:
    from evolution.plots import fitness_figure, save

    save(fitness_figure(result.search.history, result.dataset.symbol), path)
