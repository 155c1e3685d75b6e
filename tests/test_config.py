"""Config validation: the default file loads; every bad value is refused naming its key."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from asnd.config import Config, ConfigError, load_config, parse_config
from asnd.core.brakes import BrakeLimits
from asnd.core.instrument import E8
from asnd.core.strategy import parse_strategy
from asnd.daemon import main as asnd_main
from asnd.runtime import core_config

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "etc" / "asnd.toml"


def make_config(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of the default config (and its strategies) in tmp_path, with text replaced."""
    etc = tmp_path / "etc"
    shutil.copytree(REPO / "etc", etc)
    text = DEFAULT.read_text()
    for old, new in replacements:
        assert old in text, f"test setup: {old!r} not in the default config"
        text = text.replace(old, new, 1)
    path = etc / "asnd.toml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_default_config_loads_six_slots_on_the_sim_venue() -> None:
    config = load_config(DEFAULT)
    assert config.venue.kind == "sim"
    assert [s.symbol for s in config.slots] == [
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT",
    ]  # fmt: skip
    assert [s.index for s in config.slots] == list(range(6))
    assert all(s.capital == Decimal(200) for s in config.slots)
    assert config.slots[0].min_qty == Decimal("0.001")
    # Relative paths are relative to the config file's folder.
    assert config.slots[0].strategy == REPO / "etc" / "strategies" / "champion_btcusdt.json"
    assert config.journal.directory == REPO / "var" / "journal"
    assert config.control.socket == REPO / "var" / "run" / "control.sock"
    assert config.text == DEFAULT.read_text()
    assert len(config.digest) == 64


def test_the_time_to_target_multiple_is_exact(tmp_path: Path) -> None:
    assert load_config(DEFAULT).promotion.target_multiple == Decimal(2)
    path = make_config(tmp_path, ("target_multiple = 2.0", 'target_multiple = "1.1"'))
    assert load_config(path).promotion.target_multiple == Decimal("1.1")
    # A TOML float too: 1.1, not the binary float's 1.100000000000000088817841970012523...
    path = make_config(tmp_path / "float", ("target_multiple = 2.0", "target_multiple = 1.1"))
    assert load_config(path).promotion.target_multiple == Decimal("1.1")


def test_default_champions_are_valid_distinct_strategies() -> None:
    config = load_config(DEFAULT)
    documents = [parse_strategy(slot.strategy.read_bytes()) for slot in config.slots]
    assert [d.id for d in documents] == [f"champion-{s.symbol.lower()}" for s in config.slots]


def test_config_is_frozen() -> None:
    config = load_config(DEFAULT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.slots[0].capital = Decimal(1)  # type: ignore[misc]


def _flatten(data: dict[str, object]) -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        keys.add(key)
        if isinstance(value, dict):
            keys |= _flatten(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                keys |= _flatten(item)
    return keys


def _config_fields(value: object) -> set[str]:
    names: set[str] = set()
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        inner = getattr(value, field.name)
        names.add(field.name)
        if dataclasses.is_dataclass(inner):
            names |= _config_fields(inner)
        elif isinstance(inner, tuple) and inner and dataclasses.is_dataclass(inner[0]):
            names |= _config_fields(inner[0])
    return names


def test_every_setting_appears_in_the_default_file_and_is_documented() -> None:
    text = DEFAULT.read_text()
    keys = _flatten(tomllib.loads(text))
    config = load_config(DEFAULT)
    # Fields that are not settings: file identity, derived numbering, and section names.
    derived = {"path", "text", "digest", "index", "slots"}
    missing = _config_fields(config) - derived - keys
    assert not missing, f"settings absent from etc/asnd.toml: {sorted(missing)}"
    lines = text.splitlines()
    comments = "\n".join(line for line in lines if line.lstrip().startswith("#"))
    for number, line in enumerate(lines):
        match = re.match(r"\s*([a-z_]+)\s*=", line)
        if not match:
            continue
        key = match.group(1)
        previous = lines[number - 1].lstrip()
        assert previous.startswith("#") or re.search(rf"\b{key}\b", comments), (
            f"etc/asnd.toml line {number + 1}: key {key} has no comment"
        )


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (
            ('capital = 200\nmin_qty = "0.1"', 'capital = "abc"\nmin_qty = "0.1"'),
            'slot[2].capital: expected a positive number, got "abc"',
        ),
        (("capital = 200", "capital = -5"), "slot[0].capital: expected a positive number, got -5"),
        (
            ("capital = 200", "capital = true"),
            "slot[0].capital: expected a positive number, got true",
        ),
        (
            ('kind = "sim"', 'kind = "binance"'),
            'venue.kind: expected one of "sim", "bybit-testnet", "bybit", "bybit-paper", '
            'got "binance"',
        ),
        (("fsync = true", 'fsync = "yes"'), 'journal.fsync: expected true or false, got "yes"'),
        (
            ("max_open_orders_per_slot = 4", "max_open_orders_per_slot = 0"),
            "risk.max_open_orders_per_slot: expected an integer >= 1, got 0",
        ),
        (
            ("max_open_orders_per_slot = 4", "max_open_orders_per_slot = 2.5"),
            "risk.max_open_orders_per_slot: expected an integer >= 1, got 2.5",
        ),
        (
            ("alpha = 0.05", "alpha = 1.5"),
            "promotion.alpha: expected a number between 0.0 and 1.0 (exclusive), got 1.5",
        ),
        (
            ("leverage = 2", "leverage = 500"),
            "slot[0].leverage: expected a positive number no greater than 100, got 500",
        ),
        (
            ('max_qty = "0.005"', 'max_qty = "0.0001"'),
            "slot[0].max_qty: must be >= min_qty (0.001), got 0.0001",
        ),
        (
            ('symbol = "ETHUSDT"', 'symbol = "BTCUSDT"'),
            "slot[1].symbol: BTCUSDT is already traded by slot[0]",
        ),
        (
            ('symbol = "ETHUSDT"', 'symbol = "eth/usdt"'),
            'slot[1].symbol: expected a venue symbol like "BTCUSDT", got "eth/usdt"',
        ),
        (
            ("target_multiple = 2.0", "target_multiple = 1"),
            "promotion.target_multiple: must be > 1 (the target is a gain), got 1",
        ),
        (
            ("target_multiple = 2.0", "target_multiple = 0.5"),
            "promotion.target_multiple: must be > 1 (the target is a gain), got 0.5",
        ),
        (
            ("target_multiple = 2.0", 'target_multiple = "double"'),
            "promotion.target_multiple: expected a positive number no greater than 1000, "
            'got "double"',
        ),
        (
            ("target_multiple = 2.0", "target_multiple = 5000"),
            "promotion.target_multiple: expected a positive number no greater than 1000, got 5000",
        ),
        (
            ('swap_mode = "inherit"', 'swap_mode = "yolo"'),
            'promotion.swap_mode: expected one of "inherit", "flatten", got "yolo"',
        ),
        (
            ('rest_url = ""', 'rest_url = "ftp://example.com"'),
            'venue.bybit.rest_url: expected a https:// URL, got "ftp://example.com"',
        ),
        (
            ('rest_url = ""', 'rest_url = "http://api.bybit.com"'),
            "venue.bybit.rest_url: http:// is only allowed to a loopback host",
        ),
        (
            ("restart_backoff_max_ms = 30000", "restart_backoff_max_ms = 10"),
            "supervisor.restart_backoff_max_ms: must be >= restart_backoff_initial_ms (100)",
        ),
        (
            ("allowed_uids = []", 'allowed_uids = ["root"]'),
            "control.allowed_uids: expected an array of integers >= 0, got an array",
        ),
        (
            ("max_daily_loss = 300", "max_daily_loss = -5"),
            "risk.max_daily_loss: expected a positive number no greater than 1000000000, got -5",
        ),
        (
            ("max_drawdown = 500", "max_drawdown = 0"),
            "risk.max_drawdown: expected a positive number no greater than 1000000000, got 0",
        ),
        (
            ("max_drawdown_per_slot = 100", 'max_drawdown_per_slot = "1.000000001"'),
            "risk.max_drawdown_per_slot: at most 8 decimals (1e-8 USDT), got 1.000000001",
        ),
        (
            ("leverage = 2", 'leverage = 2\nmax_daily_loss = "lots"'),
            "slot[0].max_daily_loss: expected a positive number no greater than 1000000000, "
            'got "lots"',
        ),
    ],
)
def test_bad_values_are_refused_naming_the_key(
    tmp_path: Path, replacement: tuple[str, str], message: str
) -> None:
    path = make_config(tmp_path, replacement)
    assert message in error_of(path)


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (("[risk]", "[risk]\nmax_notionl = 5"), "unknown key: risk.max_notionl"),
        (("[venue]", "colour = 1\n[venue]"), "unknown key: colour"),
        (
            ('symbol = "SOLUSDT"', 'symbol = "SOLUSDT"\nlevrage = 3\nqty = 1'),
            "unknown keys: slot[2].levrage, slot[2].qty",
        ),
        (("[venue.sim]", "[venue.simm]\n[venue.sim]"), "unknown key: venue.simm"),
    ],
)
def test_unknown_keys_are_refused_naming_them(
    tmp_path: Path, replacement: tuple[str, str], message: str
) -> None:
    assert message in error_of(make_config(tmp_path, replacement))


@pytest.mark.parametrize("key", ["api_key", "api_secret", "API_SECRET", "token"])
def test_secrets_in_the_file_are_refused(tmp_path: Path, key: str) -> None:
    path = make_config(tmp_path, ("recv_window_ms = 5000", f'recv_window_ms = 5000\n{key} = "x"'))
    message = error_of(path)
    assert f"venue.bybit.{key}: secrets do not belong in the config file" in message
    assert "ASN_BYBIT_API_KEY" in message
    assert '"x"' not in message


def test_missing_strategy_file_names_the_key_and_path(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    strategy = path.parent / "strategies" / "champion_xrpusdt.json"
    strategy.unlink()
    assert error_of(path) == f"slot[3].strategy: {strategy} does not exist"


def test_strategy_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    path = make_config(tmp_path, ("champion_btcusdt.json", "."))
    assert (
        error_of(path)
        == f"slot[0].strategy: {path.parent / 'strategies'} is a directory, not a strategy file"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_strategy_is_refused(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    strategy = path.parent / "strategies" / "champion_ethusdt.json"
    strategy.chmod(0)
    assert error_of(path) == f"slot[1].strategy: {strategy} cannot be read: Permission denied"


def test_strategy_that_fails_to_read_is_refused(tmp_path: Path) -> None:
    # /proc/self/mem opens but cannot be read at offset 0 (EIO), even for root.
    path = make_config(tmp_path, ('"strategies/champion_solusdt.json"', '"/proc/self/mem"'))
    assert error_of(path) == "slot[2].strategy: /proc/self/mem cannot be read: Input/output error"


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    path = make_config(tmp_path, ('directory = "../var/journal"', 'directory = "/srv/j"'))
    config = load_config(path)
    assert config.journal.directory == Path("/srv/j")
    assert config.challengers.directory == tmp_path / "var" / "challengers"
    assert config.slots[5].strategy == path.parent / "strategies" / "champion_bnbusdt.json"


def test_sim_endpoints_default_and_loopback_overrides(tmp_path: Path) -> None:
    path = make_config(
        tmp_path,
        ('kind = "sim"', 'kind = "bybit"'),
        ('ws_public_url = ""', 'ws_public_url = "ws://127.0.0.1:8765/v5/public/linear"'),
    )
    venue = load_config(path).venue
    assert venue.kind == "bybit"
    assert venue.bybit.rest_url == "https://api.bybit.com"
    assert venue.bybit.ws_public_url == "ws://127.0.0.1:8765/v5/public/linear"
    assert venue.bybit.ws_private_url == "wss://stream.bybit.com/v5/private"


def test_risk_brakes_default_per_slot_and_become_exact_ledger_units(tmp_path: Path) -> None:
    path = make_config(
        tmp_path,
        ('symbol = "ETHUSDT"', 'symbol = "ETHUSDT"\nmax_drawdown = "12.34567891"'),
        ("max_daily_loss_per_slot = 60", 'max_daily_loss_per_slot = "0.5"'),
    )
    config = load_config(path)
    assert (config.risk.max_daily_loss, config.risk.max_drawdown) == (Decimal(300), Decimal(500))
    btc, eth = config.slots[0], config.slots[1]
    assert (btc.max_daily_loss, btc.max_drawdown) == (Decimal("0.5"), Decimal(100))
    assert (eth.max_daily_loss, eth.max_drawdown) == (Decimal("0.5"), Decimal("12.34567891"))
    core = core_config(config)
    assert core.risk.brakes == BrakeLimits(300 * E8, 500 * E8)
    assert core.slots[0].brakes == BrakeLimits(50_000_000, 100 * E8)
    assert core.slots[1].brakes == BrakeLimits(50_000_000, 1_234_567_891)


def test_risk_brakes_are_off_when_absent(tmp_path: Path) -> None:
    strategy = tmp_path / "s.json"
    strategy.write_text("{}")
    text = '[venue]\nkind = "sim"\n[[slot]]\nsymbol = "BTCUSDT"\nstrategy = "s.json"\n'
    text += 'min_qty = 0.001\nmax_qty = 0.01\n[journal]\ndirectory = "j"\n'
    text += '[challengers]\ndirectory = "c"\n[control]\nsocket = "c.sock"\n'
    core = core_config(parse_config(text, tmp_path / "asnd.toml"))
    assert not core.risk.brakes.any
    assert not core.slots[0].brakes.any


def test_defaults_fill_omitted_optional_keys(tmp_path: Path) -> None:
    strategy = tmp_path / "s.json"
    strategy.write_text("{}")
    text = '[venue]\nkind = "sim"\n[[slot]]\nsymbol = "BTCUSDT"\nstrategy = "s.json"\n'
    text += 'min_qty = 0.001\nmax_qty = 0.01\n[journal]\ndirectory = "j"\n'
    text += '[challengers]\ndirectory = "c"\n[control]\nsocket = "c.sock"\n'
    config = parse_config(text, tmp_path / "asnd.toml")
    assert config.slots[0].capital == Decimal(200)
    assert config.slots[0].min_qty == Decimal("0.001")  # a TOML float, read exactly
    assert config.slots[0].leverage == Decimal(1)
    assert config.risk.kill_all == "flatten"
    assert config.shutdown.cancel_open_orders is True
    assert config.log.format == "auto"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[venue]\nkind = 'sim'\n", "slot: at least one [[slot]] is required"),
        ("[venue\n", "not valid TOML"),
        ("", "venue.kind: missing (required)"),
        ("venue = 3\n", "venue: expected a table, got 3"),
        ("slot = 3\n[venue]\nkind = 'sim'", "slot: expected an array of tables ([[slot]]), got 3"),
    ],
)
def test_structural_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text, tmp_path / "asnd.toml")


def test_socket_path_too_long_is_refused(tmp_path: Path) -> None:
    long = "/tmp/" + "s" * 120 + ".sock"
    path = make_config(tmp_path, ('socket = "../var/run/control.sock"', f'socket = "{long}"'))
    assert "control.socket:" in error_of(path)
    assert "too long for a Unix socket" in error_of(path)


def test_missing_or_unreadable_config_file(tmp_path: Path) -> None:
    assert (
        error_of(tmp_path / "nope.toml") == f"{tmp_path / 'nope.toml'}: config file does not exist"
    )
    assert error_of(tmp_path) == f"{tmp_path}: is a directory, not a config file"
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe")
    assert error_of(binary) == f"{binary}: not UTF-8 text (byte 0)"


def test_check_config_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert asnd_main(["check-config", "--config", str(DEFAULT)]) == 0
    out = capsys.readouterr().out
    assert f"{DEFAULT}: OK" in out
    assert "slot 5: BNBUSDT" in out
    bad = make_config(tmp_path, ("[risk]", "[risk]\nmax_notionl = 5"))
    assert asnd_main(["check-config", "--config", str(bad)]) == 2
    assert capsys.readouterr().err == "asnd: invalid config: unknown key: risk.max_notionl\n"


def test_check_config_as_a_real_process(tmp_path: Path) -> None:
    bad = make_config(tmp_path, ("capital = 200", 'capital = "abc"'))
    result = subprocess.run(
        [sys.executable, "-m", "asnd.daemon", "check-config", "--config", str(bad)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr
        == 'asnd: invalid config: slot[0].capital: expected a positive number, got "abc"\n'
    )
    assert "Traceback" not in result.stderr


def test_config_type_is_exported() -> None:
    assert Config.__dataclass_params__.frozen  # type: ignore[attr-defined]
