"""Deterministic order link ids (Bybit ``orderLinkId``): ``{prefix}-{slot}-{n}``.

``n`` is the slot's intent counter: the n-th ``OrderIntent`` the slot has journaled (counted
from 0, restored from the journal on restart, so never reused). The same intent always carries
the same id, so a resent create is refused by the venue as a duplicate instead of opening a
second order, and every fill or order update routes back to its slot from the id alone.

The shape is the one ``asnd.venues.bybit.link_id`` parses (its second number is documented
there as the intent's journal seq; here it is the per-slot counter, which is known when the
intent is made, before the journal stamps a seq). ``prefix`` defaults to "asn"; a deployment
that shares a venue account between journals should give each its own prefix. At most 36
characters (Bybit's limit).
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["MAX_LEN", "PREFIX", "LinkId", "make_link_id", "parse_link_id"]

PREFIX: Final = "asn"
MAX_LEN: Final = 36


class LinkId(NamedTuple):
    slot: int
    n: int


def make_link_id(slot: int, n: int, prefix: str = PREFIX) -> str:
    """The link id of intent ``n`` of ``slot``; ValueError if it cannot be a valid id."""
    if slot < 0 or n < 0:
        raise ValueError(f"slot and intent counter must be >= 0, got {slot}, {n}")
    if not prefix or "-" in prefix or not prefix.isascii() or not prefix.isalnum():
        raise ValueError(f"link id prefix must be ASCII letters/digits, got {prefix!r}")
    text = f"{prefix}-{slot}-{n}"
    if len(text) > MAX_LEN:
        raise ValueError(f"link id {text!r} is longer than {MAX_LEN} characters")
    return text


def parse_link_id(text: str, prefix: str = PREFIX) -> LinkId | None:
    """Slot and counter of an id ``make_link_id`` made with ``prefix``; None for any other."""
    parts = text.split("-")
    if len(parts) != 3 or parts[0] != prefix:
        return None
    slot, n = parts[1], parts[2]
    if not (slot.isascii() and slot.isdecimal() and n.isascii() and n.isdecimal()):
        return None
    if (len(slot) > 1 and slot[0] == "0") or (len(n) > 1 and n[0] == "0"):
        return None  # not canonical, so not one we made
    return LinkId(int(slot), int(n))
