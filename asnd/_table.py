"""Typed, path-aware reading of parsed TOML tables: the validation half of ``asnd.config``.

A ``Table`` wraps one TOML table and the dotted path that leads to it (``slot[2]``,
``venue.bybit``). Every accessor removes the key it reads, converts and checks the value, and
on a bad value raises ``ConfigError`` naming the full key and showing what was found::

    slot[2].capital: expected a positive number, got "abc"

``finish()`` then rejects whatever keys are left, naming them, so a misspelt key is an error
rather than a silently ignored setting.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

__all__ = ["ConfigError", "Table"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration problem; the message names the key (or file) and what is wrong."""


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


#: Marks a key without a default: it must be present.
REQUIRED: Final = _Missing()

#: Hosts where plain http/ws is accepted: the local test servers (Bybit venue, alert stand-ins).
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})

#: TOML keys that would hold credentials. They are refused anywhere in the file, because the
#: config is journaled verbatim (``ConfigLoaded``) and often lives in version control.
_SECRET_WORDS: Final = ("secret", "password", "api_key", "apikey", "token", "passphrase")


def shown(value: object) -> str:
    """A value as the user wrote it, for error messages (strings quoted like TOML)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


class Table:
    """One TOML table being validated. ``path`` is its dotted name ("" for the root)."""

    def __init__(self, data: dict[str, Any], path: str = "") -> None:
        self._data = dict(data)
        self.path = path

    def key(self, name: str) -> str:
        """The full dotted name of ``name`` inside this table."""
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(f"{self.key(name)}: {message}")

    def has(self, name: str) -> bool:
        return name in self._data

    def _take(self, name: str, default: object) -> object:
        if name in self._data:
            return self._data.pop(name)
        if default is REQUIRED:
            raise self.error(name, "missing (required)")
        return default

    def _typed(self, name: str, default: object, check: Callable[[object], T], what: str) -> T:
        value = self._take(name, default)
        try:
            return check(value)
        except (TypeError, ValueError):
            raise self.error(name, f"expected {what}, got {shown(value)}") from None

    def string(self, name: str, default: str | _Missing = REQUIRED) -> str:
        def check(value: object) -> str:
            if not isinstance(value, str):
                raise TypeError
            return value

        return self._typed(name, default, check, "a string")

    def choice(
        self, name: str, choices: tuple[str, ...], default: str | _Missing = REQUIRED
    ) -> str:
        value = self.string(name, default)
        if value not in choices:
            allowed = ", ".join(json.dumps(c) for c in choices)
            raise self.error(name, f"expected one of {allowed}, got {shown(value)}")
        return value

    def boolean(self, name: str, default: bool | _Missing = REQUIRED) -> bool:
        def check(value: object) -> bool:
            if not isinstance(value, bool):
                raise TypeError
            return value

        return self._typed(name, default, check, "true or false")

    def integer(
        self,
        name: str,
        default: int | _Missing = REQUIRED,
        *,
        minimum: int = 0,
        maximum: int | None = None,
    ) -> int:
        def check(value: object) -> int:
            # bool is an int subclass; `true` is not a count.
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            if value < minimum or (maximum is not None and value > maximum):
                raise ValueError
            return value

        bound = f"an integer >= {minimum}"
        if maximum is not None:
            bound = f"an integer from {minimum} to {maximum}"
        return self._typed(name, default, check, bound)

    def decimal(
        self,
        name: str,
        default: Decimal | _Missing = REQUIRED,
        *,
        positive: bool = True,
        maximum: Decimal | None = None,
    ) -> Decimal:
        """An exact decimal from a TOML integer, float or decimal string ("0.001")."""

        def check(value: object) -> Decimal:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, int | str):
                try:
                    number = Decimal(value)
                except InvalidOperation:
                    raise ValueError(value) from None
            elif isinstance(value, float):
                # repr() gives the shortest string that reads back as this float: 0.1 -> "0.1".
                number = Decimal(repr(value))
            elif isinstance(value, Decimal):
                number = value
            else:
                raise TypeError
            if not number.is_finite():
                raise ValueError
            if (number <= 0 if positive else number < 0) or (
                maximum is not None and number > maximum
            ):
                raise ValueError
            return number

        what = "a positive number" if positive else "a number >= 0"
        if maximum is not None:
            what += f" no greater than {maximum}"
        return self._typed(name, default, check, what)

    def number(
        self, name: str, default: float | _Missing = REQUIRED, *, low: float, high: float
    ) -> float:
        """A float in the open interval (low, high); for statistics such as alpha."""

        def check(value: object) -> float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError
            if not low < float(value) < high:
                raise ValueError
            return float(value)

        return self._typed(name, default, check, f"a number between {low} and {high} (exclusive)")

    def integers(self, name: str, default: tuple[int, ...] = ()) -> tuple[int, ...]:
        def check(value: object) -> tuple[int, ...]:
            if isinstance(value, tuple):
                return value
            if not isinstance(value, list):
                raise TypeError
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
                raise ValueError
            return tuple(value)

        return self._typed(name, default, check, "an array of integers >= 0")

    def path_value(self, name: str, base: Path, default: str | _Missing = REQUIRED) -> Path:
        """A filesystem path; a relative one is taken relative to ``base`` (the config's folder)."""
        text = self.string(name, default)
        if not text:
            raise self.error(name, "expected a path, got an empty string")
        # Normalised but not symlink-resolved: errors show the path as the user wrote it.
        return Path(os.path.normpath(base / Path(text).expanduser()))

    def url(self, name: str, default: str, schemes: tuple[str, str]) -> str:
        """A URL of scheme ``schemes[0]`` (secure); ``schemes[1]`` (plain) only to a loopback
        host, the local test servers. "" means ``default``."""
        value = self.string(name, "") or default
        secure, plain = schemes
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise self.error(name, f"expected a {secure}:// URL, got {shown(value)}")
        if parts.scheme == plain and parts.hostname not in LOOPBACK_HOSTS:
            raise self.error(
                name, f"{plain}:// is only allowed to a loopback host (test venue); use {secure}://"
            )
        return value

    def table(self, name: str) -> Table:
        """A sub-table; an absent one reads as empty, so every key in it takes its default."""
        value = self._take(name, {})
        if not isinstance(value, dict):
            raise self.error(name, f"expected a table, got {shown(value)}")
        return Table(value, self.key(name))

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[slot]]``); items are named ``name[i]``, counting from 0."""
        value = self._take(name, [])
        if not isinstance(value, list) or any(not isinstance(v, dict) for v in value):
            raise self.error(name, f"expected an array of tables ([[{name}]]), got {shown(value)}")
        prefix = self.key(name)
        return [Table(item, f"{prefix}[{i}]") for i, item in enumerate(value)]

    def finish(self) -> None:
        """Reject the keys nobody read: they are misspellings or settings that do not exist."""
        if not self._data:
            return
        for name in self._data:
            lowered = name.lower()
            if any(word in lowered for word in _SECRET_WORDS):
                raise self.error(
                    name,
                    "secrets do not belong in the config file (it is journaled); set "
                    "ASN_BYBIT_API_KEY / ASN_BYBIT_API_SECRET (Bybit) or ASN_ALERTS_WEBHOOK_URL"
                    " / ASN_ALERTS_TELEGRAM_TOKEN (alerts) in the environment or use systemd "
                    "credentials (LoadCredential=)",
                )
        names = ", ".join(self.key(n) for n in sorted(self._data))
        plural = "s" if len(self._data) > 1 else ""
        raise ConfigError(f"unknown key{plural}: {names}")
