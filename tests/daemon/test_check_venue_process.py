"""``asnd check-venue --config FILE`` as a real subprocess against the local venue in its own
process: a table of what must change, exit 0 / 1 / 2, and nothing but read-only requests
(the venue's request log is the spy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from asnd.daemon import main
from tests.venues.bybit.local_process import (
    SECRET,
    bybit_config,
    local_venue_process,
    venue_env,
)

RUN_S = 60.0  # it takes about a second; the bound is for a loaded machine
READ_ONLY = {
    "GET /v5/market/time",
    "GET /v5/account/info",
    "GET /v5/market/instruments-info",
    "GET /v5/position/list",
    "GET /v5/order/realtime",
    "GET /v5/account/wallet-balance",
}


def check_venue(config: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "asnd.daemon", "check-venue", "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        env=venue_env(),
        timeout=RUN_S,
    )
    assert SECRET not in result.stdout + result.stderr
    return result


def row(stdout: str, check: str) -> str:
    (line,) = [line for line in stdout.splitlines() if line.startswith(check + " ")]
    return line


@pytest.mark.parametrize(
    ("venue_args", "code"),
    [([], 0), (["--hedge", "--open-order", "asn-zzzzzzzz-0-3"], 1)],
    ids=["good-account", "hedge-mode"],
)
def test_check_venue_says_what_must_change_with_read_only_calls(
    tmp_path: Path, venue_args: list[str], code: int
) -> None:
    with local_venue_process(*venue_args, tmp=tmp_path) as venue:
        result = check_venue(bybit_config(tmp_path, venue))
        requests = venue.requests()
    assert result.returncode == code, result.stderr[-3000:]
    out = result.stdout
    assert "CHECK" in out.splitlines()[1]
    if code == 0:
        for check in ("clock", "account", "position mode BTCUSDT", "balance"):
            assert " ok " in row(out, check)
        assert out.rstrip().endswith("trading can start: `asnd run --config FILE`")
    else:
        hedge = row(out, "position mode BTCUSDT")
        assert "CHANGE" in hedge
        assert "hedge mode (positionIdx 1, 2)" in hedge
        assert "switch BTCUSDT to one-way mode" in hedge
        assert "1 not of this journal: asn-zzzzzzzz-0-3" in row(out, "open orders BTCUSDT")
        assert out.rstrip().endswith("2 thing(s) must change before trading (CHANGE above)")
    assert requests, "the spy saw the requests"
    assert set(requests) <= READ_ONLY, "only read-only endpoints"
    assert not (tmp_path / "journal").exists(), "the journal is only read"


def test_check_venue_refuses_a_config_that_is_not_for_bybit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process (an argument check needs no venue): exit 2, one line, nothing asked."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "etc" / "asnd.toml").read_text()
    config = tmp_path / "sim.toml"
    config.write_text(
        text.replace('strategy = "strategies/', f'strategy = "{root}/etc/strategies/')
    )
    assert main(["check-venue", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == "asnd: check-venue checks a Bybit account; venue.kind is 'sim'\n"
    assert main(["check-venue", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "config file does not exist" in capsys.readouterr().err
