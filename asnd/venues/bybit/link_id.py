"""Deterministic ``orderLinkId``: the idempotency key that makes retries safe.

Format ``asn-{slot}-{intent_seq}`` (decimal; at most 36 characters, Bybit's limit). The same
intent always gets the same id, so a resent create is refused by the venue as a duplicate
instead of opening a second order, and a fill or an order update can be routed back to its
slot from the id alone.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["MAX_LEN", "PREFIX", "LinkId", "make_link_id", "parse_link_id"]

PREFIX: Final = "asn"
MAX_LEN: Final = 36


class LinkId(NamedTuple):
    slot: int
    intent_seq: int


def make_link_id(slot: int, intent_seq: int) -> str:
    if slot < 0 or intent_seq < 0:
        raise ValueError(f"slot and intent_seq must be >= 0, got {slot}, {intent_seq}")
    text = f"{PREFIX}-{slot}-{intent_seq}"
    if len(text) > MAX_LEN:
        raise ValueError(f"orderLinkId {text!r} is longer than {MAX_LEN} characters")
    return text


def parse_link_id(text: str) -> LinkId | None:
    """The slot and intent seq of one of our ids; None for an id we did not make."""
    parts = text.split("-")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    slot, seq = parts[1], parts[2]
    if not (slot.isdecimal() and seq.isdecimal() and slot.isascii() and seq.isascii()):
        return None
    if (slot != "0" and slot.startswith("0")) or (seq != "0" and seq.startswith("0")):
        return None  # not canonical, so not one we made
    return LinkId(int(slot), int(seq))
