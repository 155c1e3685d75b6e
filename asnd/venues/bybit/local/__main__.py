"""Run the local Bybit-compatible venue, to try the daemon without keys or network.

``python -m asnd.venues.bybit.local [--key K]`` serves BTCUSDT and ETHUSDT with a
small seeded book on 127.0.0.1 (ports chosen by the OS) and prints the URLs and the key as
one JSON line. Key and secret default to ``ASN_BYBIT_API_KEY``/``ASN_BYBIT_API_SECRET``, the
variables the daemon reads, so both agree without the secret ever being printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys

import trio

from asnd.venues.bybit.credentials import ENV_KEY, ENV_SECRET
from asnd.venues.bybit.local import account_flags
from asnd.venues.bybit.local.server import LocalBybit
from journal.events import BUY, SELL, InstrumentInfo

INSTRUMENTS = [
    InstrumentInfo(0, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5"),
    InstrumentInfo(0, 0, "bybit", "ETHUSDT", "0.01", "0.01", "0.01", "5"),
]


async def serve(key: str, secret: str, args: argparse.Namespace) -> None:
    venue = LocalBybit(INSTRUMENTS, api_keys={key: secret})
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.serve)
        for i in range(20):
            venue.exchange.set_level("BTCUSDT", BUY, 100_000 - i, 1000 + 37 * i)
            venue.exchange.set_level("BTCUSDT", SELL, 100_001 + i, 1000 + 41 * i)
            venue.exchange.set_level("ETHUSDT", BUY, 300_000 - i, 500 + 7 * i)
            venue.exchange.set_level("ETHUSDT", SELL, 300_001 + i, 500 + 5 * i)
        account_flags.apply(venue, args)
        urls = {"rest_url": venue.rest_url, "public_ws_url": venue.public_url}
        print(json.dumps({**urls, "private_ws_url": venue.private_url, "api_key": key}))
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m asnd.venues.bybit.local")
    parser.add_argument("--key", default=os.environ.get(ENV_KEY, "local-key"))
    account_flags.add_arguments(parser)  # hedge mode, classic account, ... (account_flags)
    args = parser.parse_args(argv)
    # Never a command-line argument: argv is visible to every user of the machine.
    secret = os.environ.get(ENV_SECRET) or secrets.token_hex(16)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is meant to stop
        trio.run(serve, args.key, secret, args)


if __name__ == "__main__":
    main()
