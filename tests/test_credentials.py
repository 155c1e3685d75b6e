"""Bybit credentials come from the environment or systemd credentials and never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from asnd.credentials import BybitCredentials, CredentialsError, load_bybit_credentials


def test_environment_wins() -> None:
    env = {"ASN_BYBIT_API_KEY": "KEYabc123", "ASN_BYBIT_API_SECRET": "s3cr3t-value\n"}
    creds = load_bybit_credentials(env)
    assert creds == BybitCredentials("KEYabc123", "s3cr3t-value")


def test_systemd_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "bybit-api-key").write_text("KEYfromfile\n")
    (tmp_path / "bybit-api-secret").write_text("secretfromfile\n")
    creds = load_bybit_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert creds.api_key == "KEYfromfile"
    assert creds.api_secret == "secretfromfile"


def test_missing_values_name_where_they_were_looked_for(tmp_path: Path) -> None:
    (tmp_path / "bybit-api-key").write_text("KEYonly")
    with pytest.raises(CredentialsError) as info:
        load_bybit_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)})
    message = str(info.value)
    assert "API secret ($ASN_BYBIT_API_SECRET or systemd credential bybit-api-secret)" in message
    assert "API key" not in message
    assert "KEYonly" not in message


def test_secret_never_in_repr_or_str() -> None:
    creds = BybitCredentials("KEYabc123", "very-secret")
    for text in (repr(creds), str(creds), f"{creds}"):
        assert "very-secret" not in text
        assert "KEYabc123" not in text
        assert "<hidden>" in text
