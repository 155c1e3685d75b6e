"""Where a secret comes from: a systemd credential file, else an environment variable.

One rule for every secret the daemon reads (Bybit API key and secret, alert webhook URL,
Telegram bot token), first match wins:

1. the file ``credential`` in ``$CREDENTIALS_DIRECTORY`` (``LoadCredential=`` in the unit), so
   the secret never sits in the process's environment;
2. the environment variable ``variable``.

Values are stripped; an empty value counts as unset. Errors name the credential and what
went wrong, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CredentialError", "lookup_secret"]


class CredentialError(Exception):
    """A credential file exists but cannot be read (the message never holds a value)."""


def lookup_secret(
    variable: str, credential: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """The secret named ``credential`` (systemd) or ``variable`` (env); None if neither is set."""
    env = os.environ if environ is None else environ
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / credential
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        except OSError as exc:
            raise CredentialError(
                f"cannot read systemd credential {credential}: {exc.strerror}"
            ) from None
        if value:
            return value
    return env.get(variable, "").strip() or None
