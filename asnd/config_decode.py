"""Decoding parsed TOML into msgspec structs, with errors that name the key: the validation half
of ``asnd.config``.

A section of the config file is a ``msgspec.Struct`` with ``forbid_unknown_fields=True``; its
fields carry the type, the default and the range (``Annotated[int, Meta(ge=1)]``).
``decode(data, Schema)`` converts with ``msgspec.convert`` and turns msgspec's
``Expected `int` >= 1 - at `$.risk.max_open_orders_per_slot` `` into the one-line message the
operator reads, naming the key and showing what was found::

    slot[2].capital: expected a positive number, got "abc"
    unknown key: risk.max_notionl (did you mean `max_notional_per_slot`?)

The wording of "expected ..." comes from the field's type (``describe``), so a range is written
once, in the schema. Decimals (money, quantities) are exact ``Decimal``s; msgspec has no range
constraints for them, so their bounds go in ``Meta(extra={"positive": ..., "le": ...})`` and
``decode`` checks them after the conversion.
"""

from __future__ import annotations

import functools
import json
import os
import re
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import msgspec
import msgspec.inspect as mi

__all__ = [
    "LOOPBACK_HOSTS",
    "ConfigError",
    "Section",
    "decode",
    "describe",
    "resolve_path",
    "shown",
    "url",
]

S = TypeVar("S", bound=msgspec.Struct)


class Section(msgspec.Struct, forbid_unknown_fields=True):
    """A table of the config file: a key it does not declare is an error, not ignored."""


class ConfigError(ValueError):
    """A configuration problem; the message names the key (or file) and what is wrong."""


#: Hosts where plain http/ws is accepted: the local test servers (Bybit venue, alert stand-ins).
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})

#: TOML keys that would hold credentials. They are refused anywhere in the file, because the
#: config is journaled verbatim (``ConfigLoaded``) and often lives in version control.
_SECRET_WORDS: Final = ("secret", "password", "api_key", "apikey", "token", "passphrase")
_SECRET_HELP: Final = (
    "secrets do not belong in the config file (it is journaled); set "
    "ASN_BYBIT_API_KEY / ASN_BYBIT_API_SECRET (Bybit) or ASN_ALERTS_WEBHOOK_URL"
    " / ASN_ALERTS_TELEGRAM_TOKEN (alerts) in the environment or use systemd "
    "credentials (LoadCredential=)"
)

_AT: Final = re.compile(r"(?s)(.*) - at `\$(.*)`")
_STEP: Final = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_UNKNOWN: Final = re.compile(r"Object contains unknown field `(.*)`")
_MISSING: Final = re.compile(r"Object missing required field `(.*)`")

Step = str | int


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


def key_of(prefix: str, steps: list[Step]) -> str:
    """The dotted name the operator reads: ``slot[2].capital``, ``venue.bybit``."""
    key = prefix
    for step in steps:
        if isinstance(step, int):
            key += f"[{step}]"
        else:
            key = f"{key}.{step}" if key else step
    return key


def describe(info: mi.Type, name: str = "") -> str:
    """What a value of this schema type must be, in the operator's words ("an integer >= 1")."""
    extra: dict[str, Any] = {}
    if isinstance(info, mi.Metadata):
        extra = info.extra or {}
        info = info.type
    if "what" in extra:
        return str(extra["what"])
    if isinstance(info, mi.UnionType):
        kept = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return " or ".join(describe(t, name) for t in kept)
    if isinstance(info, mi.BoolType):
        return "true or false"
    if isinstance(info, mi.IntType):
        low = info.ge if info.ge is not None else 0
        if info.le is not None:
            return f"an integer from {low} to {info.le}"
        return f"an integer >= {low}"
    if isinstance(info, mi.FloatType):
        return f"a number between {float(info.gt or 0)} and {float(info.lt or 0)} (exclusive)"
    if isinstance(info, mi.DecimalType):
        what = "a positive number" if extra.get("positive", True) else "a number >= 0"
        if "le" in extra:
            what += f" no greater than {extra['le']}"
        return what
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(json.dumps(v) for v in info.values)
    if isinstance(info, mi.StrType):
        return "a string"
    if isinstance(info, mi.StructType):
        return "a table"
    if isinstance(info, mi.ListType | mi.VarTupleType):
        if isinstance(info.item_type, mi.StructType):
            return f"an array of tables ([[{name}]])"
        return f"an array of {_plural(describe(info.item_type))}"
    return "a value of another type"


def _plural(what: str) -> str:
    # "an integer >= 0" -> "integers >= 0": only the forms describe() produces for items.
    for single, many in (("an integer", "integers"), ("a string", "strings")):
        if what.startswith(single):
            return many + what[len(single) :]
    return what


def _strip(info: mi.Type) -> mi.Type:
    """The type under a Metadata wrapper or an optional (``X | None``)."""
    if isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.UnionType):
        kept = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(kept) == 1:
            return _strip(kept[0])
    return info


def _field_types(info: mi.StructType) -> dict[str, mi.Type]:
    return {field.encode_name: field.type for field in info.fields}


def _in_schema_order(data: dict[str, Any], info: mi.StructType) -> dict[str, Any]:
    """A copy of ``data`` with its keys in the schema's order, unknown keys last, so the first
    error reported is the first in the documented order, whatever the file's order. Every
    absent sub-table reads as empty (and an absent array of tables as ``[]``), so its keys take
    their defaults and a missing required key is named inside it (``venue.kind``)."""
    ordered: dict[str, Any] = {}
    for name, field in _field_types(info).items():
        inner = _strip(field)
        if isinstance(inner, mi.StructType):
            value = data.get(name, {})
            ordered[name] = _in_schema_order(value, inner) if isinstance(value, dict) else value
        elif isinstance(inner, mi.ListType) and isinstance(_strip(inner.item_type), mi.StructType):
            item = _strip(inner.item_type)
            assert isinstance(item, mi.StructType)
            value = data.get(name, [])
            if isinstance(value, list):
                value = [_in_schema_order(v, item) if isinstance(v, dict) else v for v in value]
            ordered[name] = value
        elif name in data:
            ordered[name] = data[name]
    ordered.update((name, value) for name, value in data.items() if name not in ordered)
    return ordered


@functools.cache
def _schema_info(schema: type[msgspec.Struct]) -> mi.StructType:
    # Inspecting a schema costs milliseconds; it is the same at every start and reload.
    info = mi.type_info(schema)
    assert isinstance(info, mi.StructType)
    return info


def decode(data: dict[str, Any], schema: type[S], prefix: str = "") -> S:
    """``data`` (parsed TOML) as a ``schema`` struct; ``prefix`` names where it sits in the file
    ("alerts"). Raises ``ConfigError`` naming the first bad key."""
    info = _schema_info(schema)
    data = _in_schema_order(data, info)
    try:
        value = msgspec.convert(data, schema)
    except msgspec.ValidationError as exc:
        raise _translate(str(exc), data, info, prefix) from None
    _check_decimals(value, data, info, prefix, [])
    return value


def _parse_steps(text: str) -> list[Step]:
    return [int(index) if index else name for name, index in _STEP.findall(text)]


def _walk(data: object, info: mi.Type, steps: list[Step]) -> tuple[object, mi.Type | None]:
    """The raw value and the schema type at ``steps`` (None where the schema has no such key)."""
    current: mi.Type | None = info
    for step in steps:
        inner = _strip(current) if current is not None else None
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
            items = inner if isinstance(inner, mi.ListType | mi.VarTupleType) else None
            current = items.item_type if items is not None else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
            fields = _field_types(inner) if isinstance(inner, mi.StructType) else {}
            current = fields.get(step)
    return data, current


def _translate(message: str, data: dict[str, Any], info: mi.StructType, prefix: str) -> ConfigError:
    # msgspec leaves out " - at `$`" for the root table itself.
    match = _AT.fullmatch(message)
    reason, steps = (match[1], _parse_steps(match[2])) if match else (message, [])
    if unknown := _UNKNOWN.fullmatch(reason):
        return _unknown(data, info, prefix, steps, unknown[1])
    if missing := _MISSING.fullmatch(reason):
        return ConfigError(f"{key_of(prefix, [*steps, missing[1]])}: missing (required)")
    # An item of a plain array is shown as the whole array, as the operator wrote one key.
    if steps and isinstance(steps[-1], int):
        _, parent = _walk(data, info, steps[:-1])
        seq = _strip(parent) if parent is not None else None
        if isinstance(seq, mi.ListType | mi.VarTupleType) and not isinstance(
            _strip(seq.item_type), mi.StructType
        ):
            steps = steps[:-1]
    raw, found = _walk(data, info, steps)
    if found is None:
        return ConfigError(f"{key_of(prefix, steps)}: {reason}")
    name = next((s for s in reversed(steps) if isinstance(s, str)), "")
    tables = _strip(found)
    if isinstance(tables, mi.ListType) and isinstance(raw, list) and "of length" in reason:
        return _count_error(key_of(prefix, steps), name, tables, len(raw))
    if isinstance(_strip(found), mi.LiteralType):
        # msgspec.inspect sorts a Literal's values; the schema's order is the documented one.
        _, owner = _walk(data, info, steps[:-1])
        found = _written_literal(_strip(owner) if owner else None, name) or found
    return ConfigError(
        f"{key_of(prefix, steps)}: expected {describe(found, name)}, got {shown(raw)}"
    )


def _count_error(key: str, name: str, tables: mi.ListType, count: int) -> ConfigError:
    """Too few or too many ``[[name]]`` tables (the schema's ``min_length``/``max_length``)."""
    least = tables.min_length or 0
    if count < least:
        return ConfigError(
            f"{key}: at least {'one' if least == 1 else least} [[{name}]] is required"
        )
    return ConfigError(f"{key}: at most {tables.max_length} {name}s, got {count}")


def _written_literal(owner: mi.Type | None, name: str) -> mi.LiteralType | None:
    """The Literal field ``name`` of struct ``owner`` with its values in the schema's order."""
    if not isinstance(owner, mi.StructType):
        return None
    for field in msgspec.structs.fields(owner.cls):
        if field.encode_name == name:
            values = typing.get_args(field.type)
            if values and all(isinstance(v, str) for v in values):
                return mi.LiteralType(values=values)
    return None


def _unknown(
    data: dict[str, Any], info: mi.StructType, prefix: str, steps: list[Step], first: str
) -> ConfigError:
    """All the unknown keys of the table holding ``first``, with a "did you mean" for a
    misspelling of a known one."""
    table, found = _walk(data, info, steps)
    struct = _strip(found) if found is not None else None
    known = list(_field_types(struct)) if isinstance(struct, mi.StructType) else []
    names = sorted(n for n in table if n not in known) if isinstance(table, dict) else [first]
    for name in names:
        if any(word in name.lower() for word in _SECRET_WORDS):
            return ConfigError(f"{key_of(prefix, [*steps, name])}: {_SECRET_HELP}")
    keys = ", ".join(key_of(prefix, [*steps, n]) for n in names)
    import difflib  # noqa: PLC0415 - only on this error path: check-config stays light

    guesses = {n: difflib.get_close_matches(n, known, n=1) for n in names}
    hints = [f"`{g[0]}` for `{n}`" for n, g in guesses.items() if g]
    if len(names) == 1 and hints:
        hints = [f"`{guesses[names[0]][0]}`"]
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    plural = "s" if len(names) > 1 else ""
    return ConfigError(f"unknown key{plural}: {keys}{hint}")


def _check_decimals(
    value: object, data: object, info: mi.Type, prefix: str, steps: list[Step]
) -> None:
    """Decimal bounds, which msgspec's ``Meta`` does not check: finite, positive (or >= 0 with
    ``extra={"positive": False}``), at most ``extra["le"]``."""
    extra = (info.extra or {}) if isinstance(info, mi.Metadata) else {}
    inner = _strip(info)
    if isinstance(inner, mi.StructType):
        raw = data if isinstance(data, dict) else {}
        for field in inner.fields:
            if field.encode_name in raw:
                _check_decimals(
                    getattr(value, field.name),
                    raw[field.encode_name],
                    field.type,
                    prefix,
                    [*steps, field.encode_name],
                )
    elif isinstance(inner, mi.ListType | mi.VarTupleType) and isinstance(data, list):
        for index, (item, raw_item) in enumerate(zip(value, data, strict=True)):  # type: ignore[call-overload]
            _check_decimals(item, raw_item, inner.item_type, prefix, [*steps, index])
    elif isinstance(inner, mi.DecimalType) and isinstance(value, Decimal):
        positive = extra.get("positive", True)
        limit = extra.get("le")
        if (
            not value.is_finite()
            or (value <= 0 if positive else value < 0)
            or (limit is not None and value > limit)
        ):
            what = describe(info)
            raise ConfigError(f"{key_of(prefix, steps)}: expected {what}, got {shown(data)}")


def resolve_path(key: str, text: str, base: Path) -> Path:
    """A filesystem path from the file; a relative one is taken relative to ``base`` (the
    config's folder). Normalised but not symlink-resolved: errors show it as the user wrote it."""
    if not text:
        raise ConfigError(f"{key}: expected a path, got an empty string")
    return Path(os.path.normpath(base / Path(text).expanduser()))


def url(key: str, value: str, default: str, schemes: tuple[str, str]) -> str:
    """A URL of scheme ``schemes[0]`` (secure); ``schemes[1]`` (plain) only to a loopback
    host, the local test servers. "" means ``default``."""
    value = value or default
    secure, plain = schemes
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{key}: expected a {secure}:// URL, got {shown(value)}")
    if parts.scheme == plain and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(
            f"{key}: {plain}:// is only allowed to a loopback host (test venue); use {secure}://"
        )
    return value
