"""API credentials: where they come from, and the one object that may hold the secret.

Sources, first match wins, per value (``asnd.credential_source``, the rule for every secret):
1. systemd credentials: files ``bybit-api-key`` and ``bybit-api-secret`` in
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
from typing import NoReturn

from asnd.credential_source import CredentialError, lookup_secret
from asnd.venues.base import NeedsHumanError
from asnd.venues.bybit.signing import sign_rest, sign_ws_auth

__all__ = ["ENV_KEY", "ENV_SECRET", "FILE_KEY", "FILE_SECRET", "Credentials", "load_credentials"]

ENV_KEY = "ASN_BYBIT_API_KEY"
ENV_SECRET = "ASN_BYBIT_API_SECRET"
FILE_KEY = "bybit-api-key"  # the names systemd/asnd.service's LoadCredential= gives them
FILE_SECRET = "bybit-api-secret"


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


def _lookup(env: Mapping[str, str], variable: str, credential: str) -> str | None:
    """One value: the systemd credential file first (a service), then the variable."""
    try:
        return lookup_secret(variable, credential, env)
    except CredentialError as exc:
        raise NeedsHumanError(str(exc)) from None


def load_credentials(environ: Mapping[str, str] | None = None) -> Credentials:
    """Credentials from systemd's credentials directory or the environment.

    Raises ``NeedsHumanError`` naming what is missing and where it was looked for (never a
    value) when the key or the secret is not configured.
    """
    env = os.environ if environ is None else environ
    key = _lookup(env, ENV_KEY, FILE_KEY)
    secret = _lookup(env, ENV_SECRET, FILE_SECRET)
    if key is None or secret is None:
        missing = [
            f"{what} (${variable} or systemd credential {credential})"
            for what, value, variable, credential in (
                ("API key", key, ENV_KEY, FILE_KEY),
                ("API secret", secret, ENV_SECRET, FILE_SECRET),
            )
            if value is None
        ]
        raise NeedsHumanError("Bybit credentials missing: " + "; ".join(missing))
    return Credentials(key, secret)
