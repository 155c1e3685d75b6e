"""The local Bybit-compatible venue in its own process, and configs that point the daemon at
it: for tests of the assembled entry points (``asnd run``, ``asnd check-venue``)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
KEY = "proc-key-0001"
SECRET = "PROCSECRET-0a1b2c3d4e5f60718293"  # made up; tests hunt for it in every output
START_S = 20.0  # the venue prints its URLs well within this even on a loaded machine


def venue_env() -> dict[str, str]:
    """The environment both the venue and the daemon read the key and secret from."""
    return {**os.environ, "ASN_BYBIT_API_KEY": KEY, "ASN_BYBIT_API_SECRET": SECRET}


@dataclass(frozen=True)
class LocalVenueProcess:
    rest_url: str
    public_ws_url: str
    private_ws_url: str
    request_log: Path

    def requests(self) -> list[str]:
        """``METHOD /path`` of every REST request the venue received so far."""
        return self.request_log.read_text().splitlines()


@contextmanager
def local_venue_process(*args: str, tmp: Path) -> Iterator[LocalVenueProcess]:
    """``python -m asnd.venues.bybit.local ARGS`` until the block ends (SIGTERM, then kill)."""
    log = tmp / "venue-requests.log"
    log.touch()
    cmd = [sys.executable, "-m", "asnd.venues.bybit.local", "--request-log", str(log), *args]
    with (
        open(tmp / "venue-stderr.log", "w") as stderr,
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=venue_env()
        ) as proc,
    ):
        try:
            urls = json.loads(_first_line(proc, tmp / "venue-stderr.log"))
            yield LocalVenueProcess(
                urls["rest_url"], urls["public_ws_url"], urls["private_ws_url"], log
            )
        finally:
            proc.send_signal(signal.SIGINT)  # its documented way to stop
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _first_line(proc: subprocess.Popen[str], stderr: Path) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=START_S):
            raise TimeoutError(f"local venue printed nothing in {START_S} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"local venue exited: {stderr.read_text()[-2000:]}")
    return line


def bybit_config(
    root: Path,
    venue: LocalVenueProcess,
    symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT"),
    *,
    capital: str = "200",
    extra: str = "",
) -> Path:
    """A daemon config trading ``symbols`` on ``bybit-testnet`` redirected to ``venue``."""
    strategies = {"BTCUSDT": "champion_btcusdt.json", "ETHUSDT": "champion_ethusdt.json"}
    sock = Path(tempfile.mkdtemp(prefix="asn-", dir="/tmp")) / "control.sock"
    slots = "".join(
        f"""
[[slot]]
symbol = "{symbol}"
strategy = "{REPO / "etc" / "strategies" / strategies.get(symbol, "champion_btcusdt.json")}"
capital = {capital}
min_qty = "0.001"
max_qty = "0.002"
"""
        for symbol in symbols
    )
    text = f"""
[venue]
kind = "bybit-testnet"
{extra}

[venue.bybit]
rest_url = "{venue.rest_url}"
ws_public_url = "{venue.public_ws_url}"
ws_private_url = "{venue.private_ws_url}"
{slots}
[journal]
directory = "{root / "journal"}"
fsync = false

[challengers]
directory = "{root / "challengers"}"

[control]
socket = "{sock}"

[shutdown]
grace_ms = 3000
"""
    path = root / "asnd.toml"
    path.write_text(text)
    return path
