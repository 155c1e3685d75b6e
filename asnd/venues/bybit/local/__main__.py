"""Run the local Bybit-compatible venue, to try the daemon without keys or network.

``python -m asnd.venues.bybit.local [--key K]`` serves BTCUSDT and ETHUSDT with a
small seeded book on 127.0.0.1 (ports chosen by the OS) and prints the URLs and the key as
one JSON line. Key and secret default to ``ASN_BYBIT_API_KEY``/``ASN_BYBIT_API_SECRET``, the
variables the daemon reads, so both agree without the secret ever being printed.

The account can be put in the states ASN must refuse (``account_mode``): ``--hedge``
(hedge position mode), ``--unified-status 1`` (a classic account), ``--symbol-status
ETHUSDT=Closed``, ``--contract-type ETHUSDT=LinearFutures``, ``--balance 100`` (USDT). Orders
of somebody else can be resting: ``--open-order LINK_ID`` (a BTCUSDT buy far below the
touch). ``--request-log FILE`` appends ``METHOD /path`` for every REST request, so a test in
another process can see which endpoints were called.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
from decimal import Decimal
from typing import TextIO

import trio

from asnd.venues.bybit.credentials import ENV_KEY, ENV_SECRET
from asnd.venues.bybit.local.server import LocalBybit
from journal.events import BUY, SELL, InstrumentInfo

INSTRUMENTS = [
    InstrumentInfo(0, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5"),
    InstrumentInfo(0, 0, "bybit", "ETHUSDT", "0.01", "0.01", "0.01", "5"),
]


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        symbol, sep, value = item.partition("=")
        if not sep or not symbol or not value:
            raise SystemExit(f"{flag}: expected SYMBOL=VALUE, got {item!r}")
        out[symbol] = value
    return out


def _set_up(venue: LocalBybit, args: argparse.Namespace) -> None:
    ex = venue.exchange
    for i in range(20):
        ex.set_level("BTCUSDT", BUY, 100_000 - i, 1000 + 37 * i)
        ex.set_level("BTCUSDT", SELL, 100_001 + i, 1000 + 41 * i)
        ex.set_level("ETHUSDT", BUY, 300_000 - i, 500 + 7 * i)
        ex.set_level("ETHUSDT", SELL, 300_001 + i, 500 + 5 * i)
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


async def serve(key: str, secret: str, args: argparse.Namespace, log: TextIO | None) -> None:
    venue = LocalBybit(INSTRUMENTS, api_keys={key: secret})
    if log is not None:

        def record(method: str, path: str) -> None:
            log.write(f"{method} {path}\n")

        venue.rest.on_request = record
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.serve)
        _set_up(venue, args)
        urls = {"rest_url": venue.rest_url, "public_ws_url": venue.public_url}
        print(json.dumps({**urls, "private_ws_url": venue.private_url, "api_key": key}))
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m asnd.venues.bybit.local")
    parser.add_argument("--key", default=os.environ.get(ENV_KEY, "local-key"))
    parser.add_argument("--hedge", action="store_true", help="hedge position mode")
    parser.add_argument(
        "--unified-status", type=int, default=6, help="unifiedMarginStatus (1: classic)"
    )
    parser.add_argument("--symbol-status", action="append", default=[], metavar="SYMBOL=STATUS")
    parser.add_argument("--contract-type", action="append", default=[], metavar="SYMBOL=TYPE")
    parser.add_argument("--balance", help="the USDT deposit (default 10000)")
    parser.add_argument("--open-order", action="append", default=[], metavar="LINK_ID")
    parser.add_argument("--request-log", help="append 'METHOD /path' per REST request here")
    args = parser.parse_args(argv)
    # Never a command-line argument: argv is visible to every user of the machine.
    secret = os.environ.get(ENV_SECRET) or secrets.token_hex(16)
    with contextlib.ExitStack() as stack:
        log = None
        if args.request_log:  # line-buffered: each request is on disk when answered
            log = stack.enter_context(open(args.request_log, "a", buffering=1))
        stack.enter_context(contextlib.suppress(KeyboardInterrupt))  # Ctrl-C stops it
        trio.run(serve, args.key, secret, args, log)


if __name__ == "__main__":
    main()
