"""The ``asnd`` entry point.

``asnd backtest ...`` replays journals through the core (``asnd.backtest.cli``).
``asnd run --config FILE`` runs the daemon until SIGTERM/SIGINT (exit 0 after a clean stop,
1 when it cannot start or must stop, 2 for a bad configuration). ``asnd check-config
--config FILE`` validates a configuration and exits 0 (valid) or 2 (the error, naming the
key, on stderr).
"""

from __future__ import annotations

import argparse
import sys

import trio

from asnd.backtest import cli as backtest_cli
from asnd.config import KEYLESS_KINDS, Config, ConfigError, load_config
from asnd.control import ControlSocketError
from asnd.log import configure_logging
from asnd.metrics import MetricsListenError
from asnd.runtime import Daemon
from asnd.venues.base import NeedsHumanError, VenueError
from asnd.venues.bybit.credentials import load_credentials
from journal.errors import JournalError

__all__ = ["main"]

DEFAULT_CONFIG = "/etc/asnd/asnd.toml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asnd", description="The ASN trading daemon.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the daemon")
    check = commands.add_parser("check-config", help="validate a config file and exit")
    for sub in (run, check):
        sub.add_argument(
            "--config", default=DEFAULT_CONFIG, help=f"config file (default {DEFAULT_CONFIG})"
        )
    backtest_cli.add_parser(commands, DEFAULT_CONFIG)
    return parser


def _summary(config: Config) -> str:
    lines = [f"{config.path}: OK", f"  venue: {config.venue.kind}"]
    if config.venue.kind == "bybit-paper":
        p = config.paper
        lines.append(
            f"  paper: {p.market} market data from {p.ws_public_url}, latency "
            f"{p.latency_min_ms}..{p.latency_max_ms} ms, queue {p.queue}, seed {p.seed}"
        )
    for slot in config.slots:
        lines.append(
            f"  slot {slot.index}: {slot.symbol} capital {slot.capital} USDT, "
            f"qty {slot.min_qty}..{slot.max_qty}, leverage {slot.leverage}, "
            f"strategy {slot.strategy}"
        )
    lines.append(f"  journal: {config.journal.directory} (fsync {config.journal.fsync})")
    lines.append(f"  control socket: {config.control.socket}")
    metrics = config.metrics.address
    lines.append(f"  metrics: http://{metrics}/metrics" if metrics else "  metrics: off")
    if config.venue.kind not in KEYLESS_KINDS:
        try:
            load_credentials()
            lines.append("  credentials: found")
        except NeedsHumanError as exc:
            # Not fatal here: the service gets them from LoadCredential=, not this shell.
            lines.append(f"  credentials: not found in this environment ({exc})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "backtest":
        return backtest_cli.run(args)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"asnd: invalid config: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(_summary(config))
        return 0
    return run(config)


def run(config: Config) -> int:
    configure_logging(config.log.format, config.log.level)
    failure: BaseExceptionGroup[Exception] | None = None
    interrupted = False
    try:
        trio.run(Daemon(config).run)
    except* (JournalError, ControlSocketError, MetricsListenError, VenueError) as group:
        failure = group  # (return is not allowed inside except*)
    except* KeyboardInterrupt:  # Ctrl-C before the signal handler was installed
        interrupted = True
    if interrupted:
        return 130
    if failure is not None:
        for exc in _leaves(failure):
            print(f"asnd: {exc}", file=sys.stderr)
        return 1
    return 0


def _leaves(group: BaseExceptionGroup[Exception]) -> list[Exception]:
    out: list[Exception] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            out.extend(_leaves(exc))
        else:
            out.append(exc)
    return out


if __name__ == "__main__":
    sys.exit(main())
