"""API credentials: where they come from, and the one object that may hold the secret.

Sources, first match wins:
1. systemd credentials: files ``bybit_api_key`` and ``bybit_api_secret`` in
   ``$CREDENTIALS_DIRECTORY`` (``LoadCredential=`` in the unit), so the secret never sits in
   the environment of the process;
2. environment variables ``ASN_BYBIT_API_KEY`` and ``ASN_BYBIT_API_SECRET``.

The secret is never returned, printed or formatted: ``repr``/``str`` show only a key prefix,
the object refuses pickling, and signing happens inside ``Credentials`` so callers never need
the secret itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from asnd.venues.base import NeedsHumanError
from asnd.venues.bybit.signing import sign_rest, sign_ws_auth

__all__ = ["ENV_KEY", "ENV_SECRET", "FILE_KEY", "FILE_SECRET", "Credentials", "load_credentials"]

ENV_KEY = "ASN_BYBIT_API_KEY"
ENV_SECRET = "ASN_BYBIT_API_SECRET"
FILE_KEY = "bybit_api_key"
FILE_SECRET = "bybit_api_secret"


class Credentials:
    """An API key and its secret. Only ``api_key`` is readable."""

    __slots__ = ("__secret", "api_key")

    def __init__(self, api_key: str, secret: str) -> None:
        if not api_key or not secret:
            raise NeedsHumanError("Bybit API key or secret is empty")
        self.api_key = api_key
        self.__secret = secret.encode()

    def sign_rest(self, timestamp_ms: int, recv_window_ms: int, payload: str) -> str:
        return sign_rest(self.__secret, timestamp_ms, self.api_key, recv_window_ms, payload)

    def sign_ws_auth(self, expires_ms: int) -> str:
        return sign_ws_auth(self.__secret, expires_ms)

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key[:4]!r}..., secret=<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials cannot be pickled (they hold a secret)")


def load_credentials(environ: Mapping[str, str] | None = None) -> Credentials:
    """Credentials from systemd's credentials directory or the environment.

    Raises ``NeedsHumanError`` (naming the variables to set, never their values) when none
    are configured.
    """
    env = os.environ if environ is None else environ
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        key_file, secret_file = Path(cred_dir) / FILE_KEY, Path(cred_dir) / FILE_SECRET
        if key_file.is_file() and secret_file.is_file():
            return Credentials(key_file.read_text().strip(), secret_file.read_text().strip())
    key, secret = env.get(ENV_KEY, ""), env.get(ENV_SECRET, "")
    if key and secret:
        return Credentials(key, secret)
    raise NeedsHumanError(
        f"no Bybit credentials: set {ENV_KEY} and {ENV_SECRET}, or provide {FILE_KEY} and "
        f"{FILE_SECRET} through systemd LoadCredential="
    )
