"""Credentials come from systemd's credentials directory or the environment, and never show
their secret: not in repr/str, not through pickling, not in the error when they are missing."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from asnd.venues.base import NeedsHumanError
from asnd.venues.bybit.credentials import (
    ENV_KEY,
    ENV_SECRET,
    FILE_KEY,
    FILE_SECRET,
    Credentials,
    load_credentials,
)

SECRET = "TOPSECRET-abcdef0123456789"


def test_environment() -> None:
    creds = load_credentials({ENV_KEY: "key-1", ENV_SECRET: SECRET})
    assert creds.api_key == "key-1"
    assert SECRET not in repr(creds)
    assert SECRET not in str(creds)
    assert SECRET not in f"{creds}"


def test_systemd_credentials_directory_wins(tmp_path: Path) -> None:
    (tmp_path / FILE_KEY).write_text("key-from-systemd\n")
    (tmp_path / FILE_SECRET).write_text(SECRET + "\n")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), ENV_KEY: "key-env", ENV_SECRET: "other"}
    creds = load_credentials(env)
    assert creds.api_key == "key-from-systemd"
    assert creds.sign_ws_auth(1) == Credentials("key-from-systemd", SECRET).sign_ws_auth(1)


def test_missing_credentials_name_the_variables_not_values() -> None:
    with pytest.raises(NeedsHumanError) as info:
        load_credentials({})
    assert ENV_KEY in str(info.value)
    assert ENV_SECRET in str(info.value)
    with pytest.raises(NeedsHumanError) as info:
        load_credentials({ENV_KEY: "key-only"})
    assert ENV_SECRET in str(info.value)
    assert "key-only" not in str(info.value)


def test_secret_is_not_an_attribute_and_cannot_be_pickled() -> None:
    creds = Credentials("key", SECRET)
    assert not any(
        SECRET in repr(getattr(creds, name, ""))
        for name in dir(creds)
        if not name.startswith("_Credentials")
    )
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(NeedsHumanError):
        Credentials("key", "")


def test_missing_value_names_where_it_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / FILE_KEY).write_text("KEYonly")
    with pytest.raises(NeedsHumanError) as info:
        load_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)})
    message = str(info.value)
    assert f"API secret (${ENV_SECRET} or systemd credential {FILE_SECRET})" in message
    assert "API key" not in message
    assert "KEYonly" not in message


def test_unit_file_names_match_the_service() -> None:
    unit = (Path(__file__).resolve().parents[3] / "systemd" / "asnd.service").read_text()
    assert f"LoadCredential={FILE_KEY}:" in unit
    assert f"LoadCredential={FILE_SECRET}:" in unit
