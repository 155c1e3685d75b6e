"""The config schema (``asnd.config_schema``) and its error wording (``asnd.config_decode``):
unknown keys refused in every section with a "did you mean", decimal bounds, slot counts."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import msgspec.inspect as mi
import pytest

from asnd.config import ConfigError, parse_config
from asnd.config_decode import decode
from asnd.config_schema import MAX_SLOTS, ConfigFile
from tests.test_config import DEFAULT, error_of, make_config


def _section_paths(info: mi.StructType, prefix: list[str | int]) -> list[list[str | int]]:
    """Every table of the schema, found by walking it: a section added later is covered too."""
    paths = [prefix]
    for field in info.fields:
        inner = field.type.type if isinstance(field.type, mi.Metadata) else field.type
        if isinstance(inner, mi.StructType):
            paths += _section_paths(inner, [*prefix, field.encode_name])
        elif isinstance(inner, mi.ListType) and isinstance(inner.item_type, mi.StructType):
            paths += _section_paths(inner.item_type, [*prefix, field.encode_name, 0])
    return paths


SCHEMA = mi.type_info(ConfigFile)
assert isinstance(SCHEMA, mi.StructType)
SECTIONS = _section_paths(SCHEMA, [])


def _key(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def test_the_schema_walk_finds_every_section() -> None:
    names = {_key(p) for p in SECTIONS}
    assert {"", "venue.bybit", "slot[0]", "alerts.telegram", "paper", "supervisor"} <= names
    assert len(SECTIONS) == len(names) == 18


@pytest.mark.parametrize("path", SECTIONS, ids=[_key(p) or "root" for p in SECTIONS])
def test_an_unknown_key_is_refused_in_every_section(path: list[str | int]) -> None:
    data: dict[str, Any] = copy.deepcopy(tomllib.loads(DEFAULT.read_text()))
    table: Any = data
    for step in path:
        table = table.setdefault(step, {}) if isinstance(step, str) else table[step]
    table["colour_of_money"] = 1
    with pytest.raises(ConfigError) as info:
        decode(data, ConfigFile)
    name = f"{_key(path)}.colour_of_money" if path else "colour_of_money"
    # Nothing in the schema is close to this name, so there is no suggestion.
    assert str(info.value) == f"unknown key: {name}"


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (
            ("max_drawdown = 500", "max_drawdwn = 500"),
            "unknown key: risk.max_drawdwn (did you mean `max_drawdown`?)",
        ),
        (
            ('symbol = "SOLUSDT"', 'symbol = "SOLUSDT"\nlevrage = 3\nqty = 1'),
            "unknown keys: slot[2].levrage, slot[2].qty"
            " (did you mean `leverage` for `levrage`, `min_qty` for `qty`?)",
        ),
        (
            ("grace_ms = 10000", "grace_msec = 10000"),
            "unknown key: shutdown.grace_msec (did you mean `grace_ms`?)",
        ),
        (
            ("[alerts.telegram]", "[alerts.telegram]\nchat = 1"),
            "unknown key: alerts.telegram.chat (did you mean `chat_id`?)",
        ),
        (
            ("[venue.sim]", "[venue.simm]\n[venue.sim]"),
            "unknown key: venue.simm (did you mean `sim`?)",
        ),
    ],
)
def test_a_misspelt_key_gets_a_did_you_mean(
    tmp_path: Path, replacement: tuple[str, str], message: str
) -> None:
    assert error_of(make_config(tmp_path, replacement)) == message


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (
            ("capital = 200", 'capital = "NaN"'),
            'slot[0].capital: expected a positive number, got "NaN"',
        ),
        (
            ("capital = 200", 'capital = "Infinity"'),
            'slot[0].capital: expected a positive number, got "Infinity"',
        ),
        (("seed = 1", "seed = -1"), "venue.sim.seed: expected an integer >= 0, got -1"),
        (
            ("recv_window_ms = 5000", "recv_window_ms = 60001"),
            "venue.bybit.recv_window_ms: expected an integer from 1 to 60000, got 60001",
        ),
        (('listen = ""', "listen = 9464"), "metrics.listen: expected a string, got 9464"),
        (
            ("allowed_uids = []", "allowed_uids = [0, -1]"),
            "control.allowed_uids: expected an array of integers >= 0, got an array",
        ),
        (
            ("capital = 200", "colour = 1\ncapital = true"),
            # Values are checked before unknown keys, whatever the order in the file.
            "slot[0].capital: expected a positive number, got true",
        ),
    ],
)
def test_bad_values_are_worded_from_the_schema(
    tmp_path: Path, replacement: tuple[str, str], message: str
) -> None:
    assert error_of(make_config(tmp_path, replacement)) == message


def test_more_slots_than_the_daemon_runs_are_refused(tmp_path: Path) -> None:
    slot = '[[slot]]\nsymbol = "S{n:02d}USDT"\nstrategy = "x.json"\nmin_qty = 1\nmax_qty = 2\n'
    text = "[venue]\nkind = 'sim'\n" + "".join(slot.format(n=n) for n in range(MAX_SLOTS + 1))
    with pytest.raises(ConfigError) as info:
        parse_config(text, tmp_path / "asnd.toml")
    assert str(info.value) == f"slot: at most {MAX_SLOTS} slots, got {MAX_SLOTS + 1}"
