"""``asnd run`` on Bybit refuses to trade on an account it cannot trade safely: the real
daemon subprocess against the local venue in its own process, one line saying what to change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.venues.bybit.local_process import (
    SECRET,
    bybit_config,
    local_venue_process,
    venue_env,
)

RUN_S = 60.0  # start-up to refusal takes about a second; the bound is for a loaded machine


def run_daemon(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asnd.daemon", "run", "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        env=venue_env(),
        timeout=RUN_S,
    )


def refusal_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 3, result.stderr[-3000:]  # the account must change first
    lines = [line for line in result.stderr.splitlines() if line.startswith("asnd: ")]
    assert len(lines) == 1, result.stderr[-3000:]
    assert SECRET not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize(
    ("venue_args", "symbols", "expected"),
    [
        (
            ["--hedge"],
            ("BTCUSDT", "ETHUSDT"),
            [
                "asnd: refusing to trade on bybit-testnet: position mode BTCUSDT: hedge mode "
                "(positionIdx 1, 2): switch BTCUSDT to one-way mode",
                "position mode ETHUSDT: hedge mode",
                "ASN supports one-way mode only",
            ],
        ),
        (
            ["--symbol-status", "ETHUSDT=Closed"],
            ("BTCUSDT", "ETHUSDT", "SOLUSDT"),
            [
                "asnd: refusing to trade on bybit-testnet: slot 1 symbol ETHUSDT: status Closed, "
                "not Trading: set slot[1].symbol to a linear USDT perpetual in Trading status; "
                "slot 2 symbol SOLUSDT: Bybit lists no linear symbol of that name",
            ],
        ),
    ],
    ids=["hedge-mode", "wrong-symbol"],
)
def test_refuses_at_start_with_one_line(
    tmp_path: Path, venue_args: list[str], symbols: tuple[str, ...], expected: list[str]
) -> None:
    with local_venue_process(*venue_args, tmp=tmp_path) as venue:
        result = run_daemon(bybit_config(tmp_path, venue, symbols))
        requests = venue.requests()
    line = refusal_line(result)
    for part in expected:
        assert part in line
    # Refused before any order could be sent.
    assert not [r for r in requests if r.startswith("POST ")]
