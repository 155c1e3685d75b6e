"""The local venue's command-line switches for the account states ASN must refuse
(``account_mode``), foreign resting orders and a request log, for tests in another process.

- ``--hedge``: hedge position mode; ``--unified-status 1``: a classic account;
  ``--symbol-status ETHUSDT=Closed``, ``--contract-type ETHUSDT=LinearFutures``: a symbol that
  is not a linear perpetual in Trading status; ``--balance 100``: the USDT deposit;
- ``--open-order LINK_ID``: somebody else's order resting on the account (a BTCUSDT buy far
  below the touch), e.g. another journal's ``asn-zzzzzzzz-0-3``;
- ``--request-log FILE``: ``METHOD /path`` appended (line-buffered) for every REST request, so
  a test can prove which endpoints were called (``asnd check-venue`` calls read-only ones).
"""

from __future__ import annotations

import argparse
from decimal import Decimal

from asnd.venues.bybit.local.server import LocalBybit
from journal.events import BUY

__all__ = ["add_arguments", "apply"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hedge", action="store_true", help="hedge position mode")
    parser.add_argument(
        "--unified-status", type=int, default=6, help="unifiedMarginStatus (1: classic)"
    )
    parser.add_argument("--symbol-status", action="append", default=[], metavar="SYMBOL=STATUS")
    parser.add_argument("--contract-type", action="append", default=[], metavar="SYMBOL=TYPE")
    parser.add_argument("--balance", help="the USDT deposit (default 10000)")
    parser.add_argument("--open-order", action="append", default=[], metavar="LINK_ID")
    parser.add_argument("--request-log", help="append 'METHOD /path' per REST request here")


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        symbol, sep, value = item.partition("=")
        if not sep or not symbol or not value:
            raise SystemExit(f"{flag}: expected SYMBOL=VALUE, got {item!r}")
        out[symbol] = value
    return out


def apply(venue: LocalBybit, args: argparse.Namespace) -> None:
    """Set the account up as ``args`` say (once the books are seeded, before serving URLs)."""
    ex = venue.exchange
    for link_id in args.open_order:  # before the mode: hedge mode refuses one-way creates
        ex.create(
            symbol="BTCUSDT", side=BUY, order_type="Limit", qty_lots=1, price_ticks=90_000,
            tif="GTC", link_id=link_id,
        )  # fmt: skip
    ex.mode.hedge = args.hedge
    ex.mode.unified_status = args.unified_status
    ex.mode.symbol_status = _pairs(args.symbol_status, "--symbol-status")
    ex.mode.contract_type = _pairs(args.contract_type, "--contract-type")
    if args.balance is not None:
        ex.wallet.deposit = Decimal(args.balance)
    if args.request_log:
        # Open for the venue's whole life (closed at exit); line-buffered so a reader in
        # another process sees each request as soon as it is answered.
        log = open(args.request_log, "a", buffering=1)  # noqa: SIM115

        def record(method: str, path: str) -> None:
            log.write(f"{method} {path}\n")

        venue.rest.on_request = record
