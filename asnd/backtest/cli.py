"""``asnd backtest``: the subcommand's arguments and what each mode prints.

Exit status: 0 done (``--verify-against-live``: every decision identical), 1 decisions
differ, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from asnd.backtest.inputs import BacktestInputError
from asnd.config import Config, ConfigError, load_config
from journal.errors import JournalNotFound
from journal.segment import require_journal

# The replay, its reports (matplotlib) and the runtime's config mapping are imported by
# `run`, not here: `asnd` builds this parser for every subcommand, `check-config` included.

__all__ = ["add_parser", "run"]

_QUEUES = ("proportional", "worst")


def add_parser(commands: Any, default_config: str) -> None:
    """Add ``backtest`` to the ``asnd`` subcommands."""
    sub = commands.add_parser(
        "backtest",
        help="replay journals through the core, with the L2 replay filling orders",
        description="Replay recorded market data through the daemon's own core.",
    )
    sub.add_argument("journals", nargs="*", type=Path, metavar="JOURNAL", help="journal dirs")
    sub.add_argument("--config", default=default_config, help="config file (slots, risk)")
    sub.add_argument(
        "--strategy", action="append", default=[], metavar="SLOT=FILE",
        help="use FILE as slot SLOT's strategy instead of the config's (repeatable)",
    )  # fmt: skip
    sub.add_argument("--out", type=Path, default=Path("backtest-out"), help="output directory")
    sub.add_argument("--queue", choices=_QUEUES, default="worst", help="queue model")
    sub.add_argument("--latency-ms", type=float, default=5.0, help="order latency (ms)")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_argument(
        "--journal", action="store_true", help="also write the backtest's journal to OUT/journal"
    )
    mode = sub.add_mutually_exclusive_group()
    mode.add_argument(
        "--verify-against-live", type=Path, metavar="JOURNAL",
        help="re-decide a live journal and compare every decision",
    )  # fmt: skip
    mode.add_argument(
        "--calibrate", type=Path, metavar="JOURNAL",
        help="compare the replay's fills of our live orders with the venue's",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BacktestInputError as exc:
        print(f"asnd backtest: {exc}", file=sys.stderr)
        return 2


def _require_journal(path: Path) -> None:
    try:
        require_journal(path)
    except JournalNotFound as exc:
        raise BacktestInputError(str(exc)) from None


def _config(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise BacktestInputError(f"invalid config: {' '.join(str(exc).split())}") from None


def _run(args: argparse.Namespace) -> int:
    # A missing or empty journal is refused before the replay's libraries load (which takes
    # seconds); `journal_events` checks again for its other callers.
    for given in [*args.journals, args.verify_against_live, args.calibrate]:
        if given is not None:
            _require_journal(given)

    from tqdm import tqdm

    from asnd.backtest.calibrate import calibrate, calibration_table
    from asnd.backtest.inputs import journal_events
    from asnd.backtest.parity import verify_decisions
    from asnd.backtest.session import BacktestPlan, run_backtest, summary_table
    from asnd.core.l2replay import PROPORTIONAL, WORST_CASE
    from asnd.runtime import core_config

    queues = {"worst": WORST_CASE, "proportional": PROPORTIONAL}

    def warn(text: str) -> None:
        tqdm.write(text, file=sys.stderr)  # above a progress bar, if one is showing

    if args.verify_against_live is not None:
        config = _config(args.config)
        parity = verify_decisions(
            core_config(config), journal_events([args.verify_against_live], warn)
        )
        for difference in parity.differences:
            print(difference)
        matched = ", ".join(f"{n} {k}" for k, n in sorted(parity.decisions.items()))
        verdict = "identical" if parity.identical else f"{len(parity.differences)} differences"
        print(f"{parity.events} events replayed; decisions matched: {matched or 'none'}; {verdict}")
        return 0 if parity.identical else 1
    if args.calibrate is not None:
        path: Path = args.calibrate
        result = calibrate(lambda: journal_events([path], warn), queue=queues[args.queue])
        args.out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(result, indent=2, sort_keys=True) + "\n"
        (args.out / "calibration.json").write_text(text)
        print(f"latency: {result['latency']}; queue model: {result['queue']}")
        print(calibration_table(result))
        print(result["verdict"])
        return 0
    if not args.journals:
        raise BacktestInputError("no JOURNAL given")
    config = _config(args.config)
    strategies = {s.index: s.strategy for s in config.slots}
    overridden: set[int] = set()
    for item in args.strategy:
        slot, sep, file = item.partition("=")
        if not sep or not slot.isdigit() or not file:
            raise BacktestInputError(f"--strategy {item!r}: expected SLOT=FILE, e.g. 0=s.json")
        strategies[int(slot)] = Path(file)
        overridden.add(int(slot))
    plan = BacktestPlan(
        journals=tuple(args.journals),
        config=core_config(config),
        strategies=strategies,
        out=args.out,
        queue=queues[args.queue],
        latency_ms=args.latency_ms,
        overridden=frozenset(overridden),
        write_journal=args.journal,
    )
    report = run_backtest(plan, warn=warn, progress=not args.quiet)
    print(summary_table(report))
    print(f"outputs in {args.out}")
    return 0
