"""The ``asn-evolve`` entry point.

::

    asn-evolve run --journal DIR [--journal DIR ...] --slot N --out CHALLENGERS_DIR
                   [--symbol SYM] [--seed S] [--generations G] [--population P]
                   [--workers N] [--scheduler tcp://HOST:PORT] [--no-oracle] [--nsga2]
                   [--adversarial-weight W] [--report DIR] [--cache DIR]
                   [--capital C] [--leverage L] [--min-qty Q] [--max-qty Q]
    asn-evolve run --config /etc/asnd/asnd.toml [--slot N] [...]

With ``--config`` (what ``systemd/asn-evolve.service`` runs), the daemon's configuration
supplies the journal directory, the challengers directory and, per slot, the symbol and
sizing; every slot (or only ``--slot N``) is evolved in turn, and a slot whose symbol has no
data in the journal is skipped with a message. Without it, ``--journal``, ``--slot`` and
``--out`` are required.

Same seed and same data give the same challenger files. Exit status: 0 done, 1 the run was
refused (bad data, unreachable scheduler, ...; the message says why and no challenger was
written), 2 usage error or a missing or empty journal directory.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Never

from asnd import __version__
from journal.errors import JournalNotFound
from journal.segment import require_journal

# The research libraries (deap, numba kernels, tigramite, lightgbm, cma, dask) load when a run
# starts, not to parse arguments: `asn-evolve --version`/`--help` and usage errors are instant.
if TYPE_CHECKING:
    from evolution.run import RunSettings
    from evolution.search import GenerationStats

__all__ = ["main"]


def _refused() -> tuple[type[Exception], ...]:
    """What a run refuses with a message (exit 1)."""
    from evolution.causal import CausalError
    from evolution.chimera import ChimeraError
    from evolution.dataset import DatasetError
    from evolution.evaluate import SchedulerError

    return (DatasetError, CausalError, ChimeraError, SchedulerError, ValueError, OSError)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asn-evolve", description="Evolve challenger strategies.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="one evolution run over recorded journals")
    r.add_argument(
        "--config", type=Path, help="the daemon's asnd.toml (journal, challengers, slots)"
    )
    r.add_argument("--journal", type=Path, action="append", default=[], help="journal directory")
    r.add_argument("--slot", type=int, help="slot number the challengers are for")
    r.add_argument("--symbol", help="symbol to evolve on (default: the journal's first)")
    r.add_argument("--out", type=Path, help="challengers directory")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--generations", type=int, default=20)
    r.add_argument("--population", type=_positive, default=40)
    r.add_argument("--workers", type=_positive, help="worker processes (default: CPUs - 1, 1 to 4)")
    r.add_argument("--scheduler", help="Dask scheduler tcp://HOST:PORT (needs asn[distributed])")
    r.add_argument("--no-oracle", action="store_true", help="evaluate every offspring in full")
    r.add_argument("--nsga2", action="store_true", help="NSGA-II over (fitness, tree size)")
    r.add_argument(
        "--adversarial-weight",
        type=float,
        default=0.3,
        help="weight of the agent-market fitness (0 = causal only, no calibration)",
    )
    r.add_argument("--report", type=Path, help="write the run report (text, JSON, PNG) here")
    r.add_argument("--cache", type=Path, help="dataset cache directory")
    r.add_argument("--capital", type=_decimal, default=Decimal(200))
    r.add_argument("--leverage", type=_decimal, default=Decimal(1))
    r.add_argument("--min-qty", type=_decimal)
    r.add_argument("--max-qty", type=_decimal)
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _jobs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[RunSettings]:
    config = None
    if args.config is None:
        missing = [
            n for n in ("journal", "slot", "out") if not getattr(args, n) and getattr(args, n) != 0
        ]
        if missing:
            parser.error("run needs " + ", ".join(f"--{m}" for m in missing) + " (or --config)")
        journals = tuple(args.journal)
    else:
        from asnd.config import load_config

        config = load_config(args.config)
        journals = (config.journal.directory, *args.journal)
    # Like every reading command: a missing or empty journal directory is bad input (exit 2),
    # found before the research libraries load.
    for journal in journals:
        require_journal(journal)

    from evolution.run import RunSettings, SlotSizing
    from evolution.search import SearchSettings

    search = SearchSettings(
        population=args.population,
        generations=args.generations,
        seed=args.seed,
        oracle=not args.no_oracle,
        nsga2=args.nsga2,
    )
    base = {
        "search": search,
        "causal_weight": 1.0 - args.adversarial_weight,
        "cache_dir": args.cache,
    }
    if config is None:
        sizing = SlotSizing(args.capital, args.leverage, args.min_qty, args.max_qty)
        return [RunSettings(journals, args.out, args.slot, args.symbol, sizing=sizing, **base)]
    out = args.out or config.challengers.directory
    jobs = []
    for slot in config.slots:
        if args.slot is not None and slot.index != args.slot:
            continue
        sizing = SlotSizing(slot.capital, slot.leverage, slot.min_qty, slot.max_qty)
        jobs.append(RunSettings(journals, out, slot.index, slot.symbol, sizing=sizing, **base))
    if not jobs:
        parser.error(f"no slot {args.slot} in {args.config}")
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0.0 <= args.adversarial_weight <= 1.0:
        parser.error("--adversarial-weight must be in [0, 1]")
    if args.generations < 0:
        parser.error("--generations must be >= 0")
    try:
        jobs = _jobs(args, parser)
    except JournalNotFound as exc:
        print(f"asn-evolve: {exc}", file=sys.stderr)
        return 2
    except _refused() as exc:
        print(f"asn-evolve: {exc}", file=sys.stderr)
        return 1
    refused = _refused()
    from tqdm import tqdm

    from evolution.dataset import DatasetError
    from evolution.evaluate import default_workers, open_map
    from evolution.run import evolve

    done = 0
    try:
        workers = default_workers() if args.workers is None else args.workers
        with open_map(workers, args.scheduler) as mapper:
            for job in jobs:
                bar = tqdm(
                    total=job.search.generations + 1,
                    desc=f"slot {job.slot}",
                    unit="gen",
                    disable=args.quiet,
                    file=sys.stderr,
                )

                def tick(stats: GenerationStats, bar: tqdm[Never] = bar) -> None:
                    bar.set_postfix(best=f"{stats.best:.4f}", evals=stats.evaluations)
                    bar.update(1)

                try:
                    result = evolve(job, mapper, tick)
                except DatasetError as exc:
                    if args.config is not None and "no market events" in str(exc):
                        print(f"asn-evolve: slot {job.slot}: skipped ({exc})", file=sys.stderr)
                        continue
                    raise
                finally:
                    bar.close()
                done += 1
                if args.report is not None:
                    from evolution.report import write_report

                    where = args.report if len(jobs) == 1 else args.report / f"slot{job.slot}"
                    write_report(result, where)
                for path in result.challengers:
                    print(path)
    except refused as exc:
        print(f"asn-evolve: {exc}", file=sys.stderr)
        return 1
    if done == 0:
        print("asn-evolve: no slot had data to evolve on", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
