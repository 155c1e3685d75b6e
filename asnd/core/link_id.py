"""Deterministic order link ids (Bybit ``orderLinkId``): ``asn-{namespace}-{slot}-{n}``.

``n`` is the slot's intent counter: the n-th ``OrderIntent`` the slot has journaled (counted
from 0, restored from the journal on restart, so never reused). The same intent always carries
the same id, so a resent create is refused by the venue as a duplicate instead of opening a
second order, and every fill or order update routes back to its slot from the id alone.

``namespace`` is 8 base32 characters drawn once when a journal is created (``LinkNamespace``,
journaled; the core folds it): ids of another journal on the same account differ from ours,
so a fresh journal never takes over, nor books the fills of, orders it did not send
(``owns``). A journal from before namespaces has none and keeps making and owning the old
shape ``asn-{slot}-{n}``. Bybit allows 36 characters of ``[A-Za-z0-9_-]``: ``asn-`` + 8 + two
dashes leave 22 digits for slot and counter (``MAX_LEN`` is checked).
"""

from __future__ import annotations

import base64
from typing import Final, NamedTuple

__all__ = [
    "MAX_LEN",
    "NAMESPACE_BYTES",
    "NAMESPACE_LEN",
    "PREFIX",
    "LinkId",
    "draw_namespace",
    "is_namespace",
    "make_link_id",
    "owns",
    "parse_link_id",
]

PREFIX: Final = "asn"
MAX_LEN: Final = 36
NAMESPACE_LEN: Final = 8
NAMESPACE_BYTES: Final = 5  # 40 random bits: 8 base32 characters
_BASE32: Final = frozenset("abcdefghijklmnopqrstuvwxyz234567")


class LinkId(NamedTuple):
    slot: int
    n: int
    namespace: str = ""  # "" for the shape without a namespace


def draw_namespace(entropy: bytes) -> str:
    """The namespace made of ``NAMESPACE_BYTES`` random bytes (randomness is an input)."""
    if len(entropy) != NAMESPACE_BYTES:
        raise ValueError(f"a namespace takes {NAMESPACE_BYTES} random bytes, got {len(entropy)}")
    return base64.b32encode(entropy).decode().lower()


def is_namespace(text: str) -> bool:
    return len(text) == NAMESPACE_LEN and set(text) <= _BASE32


def make_link_id(slot: int, n: int, namespace: str = "") -> str:
    """The link id of intent ``n`` of ``slot``; ValueError if it cannot be a valid id."""
    if slot < 0 or n < 0:
        raise ValueError(f"slot and intent counter must be >= 0, got {slot}, {n}")
    if namespace and not is_namespace(namespace):
        raise ValueError(f"link id namespace must be 8 base32 characters, got {namespace!r}")
    text = f"{PREFIX}-{namespace}-{slot}-{n}" if namespace else f"{PREFIX}-{slot}-{n}"
    if len(text) > MAX_LEN:
        raise ValueError(f"link id {text!r} is longer than {MAX_LEN} characters")
    return text


def parse_link_id(text: str) -> LinkId | None:
    """Slot, counter and namespace of an id ``make_link_id`` made; None for any other."""
    parts = text.split("-")
    if len(parts) == 4 and parts[0] == PREFIX and is_namespace(parts[1]):
        namespace, slot, n = parts[1:]
    elif len(parts) == 3 and parts[0] == PREFIX:
        namespace, slot, n = "", parts[1], parts[2]
    else:
        return None
    if not (slot.isascii() and slot.isdecimal() and n.isascii() and n.isdecimal()):
        return None
    if (len(slot) > 1 and slot[0] == "0") or (len(n) > 1 and n[0] == "0"):
        return None  # not canonical, so not one we made
    return LinkId(int(slot), int(n), namespace)


def owns(link_id: str, namespace: str) -> bool:
    """Whether ``link_id`` is one the journal of ``namespace`` makes (and so may have sent)."""
    parsed = parse_link_id(link_id)
    return parsed is not None and parsed.namespace == namespace
