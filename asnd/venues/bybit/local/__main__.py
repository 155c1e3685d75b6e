"""Run the local Bybit-compatible venue, to try the daemon without keys or network.

``python -m asnd.venues.bybit.local [--key K] [--symbols all] [--moving] [--admin]``
serves BTCUSDT and ETHUSDT (``--symbols all``: the six symbols of ``etc/asnd.toml``, on the
sim's grids, ``asnd.venues.sim.instruments``) with a seeded book on 127.0.0.1 (ports chosen
by the OS) and prints the URLs and the key as one JSON line. Key and secret default to
``ASN_BYBIT_API_KEY``/``ASN_BYBIT_API_SECRET``, the variables the daemon reads, so both agree
without the secret ever being printed.

- ``--moving`` (with ``--symbols all``): the book walks and crowd takers sweep the touch
  every ``--step-ms`` (``local.crowd``), so a daemon's slots trade; ``--seed`` makes it
  reproducible.
- ``--admin``: JSON commands on stdin, one answer line each on stdout (``local.admin``): how
  a test in another process reads the account and stages outages. The venue keeps its state
  for as long as it runs, so it outlives any number of daemon restarts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import sys

import msgspec
import trio

from asnd.venues.bybit.credentials import ENV_KEY, ENV_SECRET
from asnd.venues.bybit.local import account_flags
from asnd.venues.bybit.local.admin import Admin
from asnd.venues.bybit.local.crowd import Crowd
from asnd.venues.bybit.local.server import LocalBybit
from asnd.venues.sim.instruments import PRESETS
from journal.events import BUY, SELL, InstrumentInfo

INSTRUMENTS = [
    InstrumentInfo(0, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5"),
    InstrumentInfo(0, 0, "bybit", "ETHUSDT", "0.01", "0.01", "0.01", "5"),
]
#: The six symbols of the default config, on the sim's tick and lot grids.
ALL_INSTRUMENTS = [
    InstrumentInfo(0, 0, "bybit", symbol, tick, lot, lot, "5")
    for symbol, (tick, lot, _start) in PRESETS.items()
]


def _print(line: object) -> None:
    print(json.dumps(line), flush=True)


def _seed_static(venue: LocalBybit) -> None:
    for i in range(20):
        venue.exchange.set_level("BTCUSDT", BUY, 100_000 - i, 1000 + 37 * i)
        venue.exchange.set_level("BTCUSDT", SELL, 100_001 + i, 1000 + 41 * i)
        venue.exchange.set_level("ETHUSDT", BUY, 300_000 - i, 500 + 7 * i)
        venue.exchange.set_level("ETHUSDT", SELL, 300_001 + i, 500 + 5 * i)


async def _move(crowd: Crowd, admin: Admin, step_s: float) -> None:
    while True:
        await trio.sleep(step_s)
        if admin.moving:
            crowd.step()


async def _serve_admin(admin: Admin) -> None:
    """One JSON command per stdin line, one JSON answer per stdout line; EOF stops the venue."""
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    buffer = b""
    async with stdin:
        while True:
            data = await stdin.receive_some(65536)
            if not data:
                return
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    command = msgspec.json.decode(line)
                    answer = admin.handle(command if isinstance(command, dict) else {})
                except (msgspec.DecodeError, ValueError, TypeError) as exc:
                    answer = {"ok": False, "error": str(exc)}
                _print(answer)


async def serve(key: str, secret: str, args: argparse.Namespace) -> None:
    instruments = ALL_INSTRUMENTS if args.symbols == "all" else INSTRUMENTS
    venue = LocalBybit(instruments, api_keys={key: secret})
    async with trio.open_nursery() as nursery:
        await nursery.start(venue.serve)
        admin = Admin(venue, moving=args.moving)
        if args.symbols == "all":  # the crowd's book on the sim's start prices
            starts = {i.symbol: PRESETS[i.symbol][2] for i in instruments}
            crowd = Crowd(venue.exchange, starts, random.Random(args.seed))
            nursery.start_soon(_move, crowd, admin, args.step_ms / 1000)
        else:
            _seed_static(venue)
        account_flags.apply(venue, args)
        urls = {"rest_url": venue.rest_url, "public_ws_url": venue.public_url}
        _print({**urls, "private_ws_url": venue.private_url, "api_key": key})
        if args.admin:
            await _serve_admin(admin)
            nursery.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m asnd.venues.bybit.local")
    parser.add_argument("--key", default=os.environ.get(ENV_KEY, "local-key"))
    parser.add_argument("--symbols", choices=("two", "all"), default="two")
    parser.add_argument("--moving", action="store_true", help="a walking book that trades")
    parser.add_argument("--step-ms", type=int, default=200, help="pace of --moving")
    parser.add_argument("--seed", type=int, default=1, help="seed of --moving")
    parser.add_argument("--admin", action="store_true", help="JSON commands on stdin")
    account_flags.add_arguments(parser)  # hedge mode, classic account, ... (account_flags)
    args = parser.parse_args(argv)
    if args.moving:  # a moving market is the six symbols' (the paper test asks for it so)
        args.symbols = "all"
    args.step_ms = max(1, args.step_ms)
    # Never a command-line argument: argv is visible to every user of the machine.
    secret = os.environ.get(ENV_SECRET) or secrets.token_hex(16)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is meant to stop
        trio.run(serve, args.key, secret, args)


if __name__ == "__main__":
    main()
