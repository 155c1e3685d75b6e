"""The ``asnd`` entry point.

``asnd backtest ...`` replays journals through the core (``asnd.backtest.cli``).
``asnd run --config FILE`` runs the daemon until SIGTERM/SIGINT (exit 0 after a clean stop,
1 when it cannot start or must stop, 2 for a bad configuration, 3 when the Bybit account
must change before it may trade: hedge mode, ...). ``asnd check-config
--config FILE`` validates a configuration and exits 0 (valid) or 2 (the error, naming the
key, on stderr). ``asnd check-venue --config FILE`` asks the Bybit account, read-only,
whether trading can start (``asnd.venue_check``): a table, exit 0 (it can), 1 (something
must change, named in the table), 2 (bad config or usage).
"""

from __future__ import annotations

import argparse
import sys

from asnd import __version__
from asnd.alerts.settings import AlertsSetupError
from asnd.backtest import cli as backtest_cli
from asnd.config import KEYLESS_KINDS, Config, ConfigError, load_config

# Only what parsing arguments and checking a config need is imported here: the runtime
# (trio, numba kernels, venues) and the backtest's reports (matplotlib) are imported by the
# command that runs them, so `asnd check-config` and `asnd --help` start in a fraction of a
# second (tests/test_entry_points.py checks which modules each command imports).

__all__ = ["main"]

DEFAULT_CONFIG = "/etc/asnd/asnd.toml"
#: ``asnd run``'s exit status when the Bybit account must change first (``asnd.readiness``);
#: systemd/asnd.service does not restart on it (``RestartPreventExitStatus=``).
ACCOUNT_NOT_READY = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asnd", description="The ASN trading daemon.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the daemon")
    check = commands.add_parser("check-config", help="validate a config file and exit")
    venue = commands.add_parser(
        "check-venue",
        help="check the Bybit account with read-only requests (exit 0: trading can start)",
    )
    for sub in (run, check, venue):
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
    lines.append(_alerts_line(config))
    if config.venue.kind not in KEYLESS_KINDS:
        from asnd.venues.base import NeedsHumanError
        from asnd.venues.bybit.credentials import load_credentials

        try:
            load_credentials()
            lines.append("  credentials: found")
        except NeedsHumanError as exc:
            # Not fatal here: the service gets them from LoadCredential=, not this shell.
            lines.append(f"  credentials: not found in this environment ({exc})")
    return "\n".join(lines)


def _alerts_line(config: Config) -> str:
    alerts = config.alerts
    on = [
        name
        for name, s in (("webhook", alerts.webhook), ("telegram", alerts.telegram))
        if s.enabled
    ]
    if not on:
        return "  alerts: off"
    from asnd.alerts.destinations import destinations  # httpx: only when alerts are on

    try:
        destinations(alerts)
        found = "secrets found"
    except AlertsSetupError as exc:
        # Not fatal here, as for the venue's credentials: the service gets them from systemd.
        found = f"not ready in this environment ({exc})"
    return f"  alerts: {', '.join(on)} ({found})"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "backtest":
        return backtest_cli.run(args)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"asnd: invalid config: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-venue":
        from asnd.venue_check import check_venue

        return check_venue(config)
    if args.command == "check-config":
        try:
            print(_summary(config))
        except BrokenPipeError:  # `asnd check-config ... | head`: the reader has had enough
            sys.stderr.close()
        return 0
    return run(config)


def run(config: Config) -> int:
    import trio

    from asnd.control import ControlSocketError
    from asnd.log import configure_logging
    from asnd.metrics import MetricsListenError
    from asnd.runtime import Daemon
    from asnd.venues.base import VenueError
    from journal.errors import JournalError

    configure_logging(config.log.format, config.log.level)
    failure: BaseExceptionGroup[Exception] | None = None
    interrupted = False
    try:
        trio.run(Daemon(config).run)
    except* (
        JournalError,
        ControlSocketError,
        MetricsListenError,
        VenueError,
        AlertsSetupError,
    ) as group:
        failure = group  # (return is not allowed inside except*)
    except* KeyboardInterrupt:  # Ctrl-C before the signal handler was installed
        interrupted = True
    if interrupted:
        return 130
    if failure is not None:
        from asnd.readiness import AccountNotReady

        leaves = _leaves(failure)
        for exc in leaves:
            print(f"asnd: {exc}", file=sys.stderr)
        # The account must change before a start can succeed: a restart would only repeat it.
        return ACCOUNT_NOT_READY if any(isinstance(e, AccountNotReady) for e in leaves) else 1
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
