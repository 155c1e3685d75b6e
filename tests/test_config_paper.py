"""The ``[paper]`` section (``asnd.config_paper``): defaults, endpoints per market, loopback
overrides, and every bad value refused naming its key; ``etc/asnd-paper.toml`` loads and is
the documented paper config; ``make_venue`` builds the paper venue from it."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from asnd.config import Config, ConfigError, load_config, parse_config
from asnd.daemon import main as asnd_main
from asnd.runtime import make_venue, paper_config
from asnd.venues.paper import PaperVenue

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "etc" / "asnd-paper.toml"
BASE = (
    '[venue]\nkind = "bybit-paper"\n[[slot]]\nsymbol = "BTCUSDT"\nstrategy = "s.json"\n'
    'min_qty = 0.001\nmax_qty = 0.01\n[journal]\ndirectory = "j"\n'
    '[challengers]\ndirectory = "c"\n[control]\nsocket = "c.sock"\n'
)


def parsed(tmp_path: Path, paper: str = "") -> Config:
    (tmp_path / "s.json").write_text("{}")
    text = BASE + (f"[paper]\n{paper}\n" if paper else "")
    return parse_config(text, tmp_path / "asnd.toml")


def test_the_paper_config_loads_six_keyless_slots_on_mainnet_data() -> None:
    config = load_config(PAPER)
    assert config.venue.kind == "bybit-paper"
    assert len(config.slots) == 6
    paper = config.paper
    assert paper.market == "mainnet"
    assert paper.rest_url == "https://api.bybit.com"
    assert paper.ws_public_url == "wss://stream.bybit.com/v5/public/linear"
    assert (paper.seed, paper.latency_min_ms, paper.latency_max_ms) == (1, 20, 60)
    assert (paper.queue, paper.balance) == ("worst_case", Decimal(10_000))
    # Its state lives apart from the sim's, so both can run side by side.
    default = load_config(REPO / "etc" / "asnd.toml")
    assert config.journal.directory != default.journal.directory
    assert config.control.socket != default.control.socket


def test_the_paper_config_differs_from_the_default_only_where_paper_trading_needs() -> None:
    """Two files for one set of settings: the paper one is the default one with its venue,
    paths and the header changed, so documentation cannot drift apart unseen."""
    paper = load_config(PAPER)
    default = load_config(REPO / "etc" / "asnd.toml")
    assert paper.slots == default.slots
    assert paper.risk == default.risk
    assert paper.promotion == default.promotion
    assert paper.paper == default.paper


def test_defaults_and_testnet_and_loopback_overrides(tmp_path: Path) -> None:
    config = parsed(tmp_path)
    assert config.paper.market == "mainnet"
    testnet = parsed(
        tmp_path,
        'market = "testnet"\nws_public_url = "ws://127.0.0.1:9/v5/public/linear"\n'
        'latency_min_ms = 5\nlatency_max_ms = 5\nqueue = "proportional"\nbalance = 50\n',
    )
    paper = testnet.paper
    assert paper.rest_url == "https://api-testnet.bybit.com"
    assert paper.ws_public_url == "ws://127.0.0.1:9/v5/public/linear"
    venue_config = paper_config(testnet)
    assert venue_config.latency_ns == (5_000_000, 5_000_000)
    assert venue_config.queue == "proportional"
    assert venue_config.balance_e8 == 50 * 10**8
    assert venue_config.symbols == ("BTCUSDT",)
    assert isinstance(make_venue(testnet), PaperVenue)


@pytest.mark.parametrize(
    ("paper", "message"),
    [
        ('market = "moon"', 'paper.market: expected one of "mainnet", "testnet", got "moon"'),
        (
            'rest_url = "http://api.bybit.com"',
            "paper.rest_url: http:// is only allowed to a loopback host",
        ),
        ('ws_public_url = "ftp://x"', 'paper.ws_public_url: expected a wss:// URL, got "ftp://x"'),
        ("latency_min_ms = -1", "paper.latency_min_ms: expected an integer from 0 to 10000"),
        (
            "latency_min_ms = 50\nlatency_max_ms = 10",
            "paper.latency_max_ms: must be >= latency_min_ms (50), got 10",
        ),
        ('queue = "best_case"', 'paper.queue: expected one of "worst_case", "proportional"'),
        ("balance = 0", "paper.balance: expected a positive number"),
        ("seed = true", "paper.seed: expected an integer >= 0, got true"),
        ("sede = 3", "unknown key: paper.sede"),
    ],
)
def test_bad_paper_values_are_refused_naming_the_key(
    tmp_path: Path, paper: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parsed(tmp_path, paper)
    assert message in str(info.value)


def test_check_config_says_paper_needs_no_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASN_BYBIT_API_KEY", raising=False)
    monkeypatch.delenv("ASN_BYBIT_API_SECRET", raising=False)
    shutil.copytree(REPO / "etc", tmp_path / "etc")
    assert asnd_main(["check-config", "--config", str(tmp_path / "etc" / "asnd-paper.toml")]) == 0
    out = capsys.readouterr().out
    assert "venue: bybit-paper" in out
    assert "paper: mainnet market data from wss://stream.bybit.com/v5/public/linear" in out
    assert "credentials" not in out
