"""Bybit API credentials: from the environment or systemd credentials, never from a file in
the repo, never in logs, errors or the journal.

Lookup order, per value:

1. ``$ASN_BYBIT_API_KEY`` / ``$ASN_BYBIT_API_SECRET`` (interactive runs, tests);
2. ``$CREDENTIALS_DIRECTORY/bybit-api-key`` / ``bybit-api-secret``: the files systemd's
   ``LoadCredential=`` exposes to the service only (see ``systemd/asnd.service``).

``BybitCredentials`` never shows its secret in ``repr`` or ``str``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["CredentialsError", "BybitCredentials", "load_bybit_credentials"]

KEY_ENV: Final = "ASN_BYBIT_API_KEY"
SECRET_ENV: Final = "ASN_BYBIT_API_SECRET"
KEY_CREDENTIAL: Final = "bybit-api-key"
SECRET_CREDENTIAL: Final = "bybit-api-secret"


class CredentialsError(RuntimeError):
    """No usable credentials; the message says where they were looked for (never a value)."""


@dataclass(frozen=True, slots=True)
class BybitCredentials:
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    def __repr__(self) -> str:
        # A key prefix helps tell accounts apart; the secret never appears.
        return f"BybitCredentials(api_key={self.api_key[:4]}…, api_secret=<hidden>)"

    __str__ = __repr__


def _lookup(env: Mapping[str, str], variable: str, credential: str) -> str | None:
    value = env.get(variable, "").strip()
    if value:
        return value
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / credential
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(
            f"cannot read systemd credential {credential}: {exc.strerror}"
        ) from None
    return value or None


def load_bybit_credentials(env: Mapping[str, str] | None = None) -> BybitCredentials:
    """The Bybit key and secret, or ``CredentialsError`` naming what is missing and where."""
    source = os.environ if env is None else env
    key = _lookup(source, KEY_ENV, KEY_CREDENTIAL)
    secret = _lookup(source, SECRET_ENV, SECRET_CREDENTIAL)
    missing = [
        f"{what} (${variable} or systemd credential {credential})"
        for what, value, variable, credential in (
            ("API key", key, KEY_ENV, KEY_CREDENTIAL),
            ("API secret", secret, SECRET_ENV, SECRET_CREDENTIAL),
        )
        if value is None
    ]
    if key is None or secret is None:
        raise CredentialsError("Bybit credentials missing: " + "; ".join(missing))
    return BybitCredentials(api_key=key, api_secret=secret)
