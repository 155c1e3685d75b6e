"""Link ids: deterministic, short, parsed back, foreign ids recognised as foreign."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asnd.core.link_id import (
    MAX_LEN,
    NAMESPACE_BYTES,
    LinkId,
    draw_namespace,
    make_link_id,
    owns,
    parse_link_id,
)

BYBIT_LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")  # Bybit's orderLinkId rule


@given(
    slot=st.integers(0, 31),
    n=st.integers(0, 10**20 - 1),
    entropy=st.binary(min_size=NAMESPACE_BYTES, max_size=NAMESPACE_BYTES),
)
def test_ids_round_trip_and_fit_bybit(slot: int, n: int, entropy: bytes) -> None:
    namespace = draw_namespace(entropy)
    text = make_link_id(slot, n, namespace)
    assert BYBIT_LINK_ID.fullmatch(text)
    assert len(text) <= MAX_LEN
    assert parse_link_id(text) == LinkId(slot, n, namespace)
    assert owns(text, namespace)
    assert not owns(text, "")
    assert not owns(make_link_id(slot, n), namespace), "an id of no namespace is foreign"


def test_the_shape_is_asn_namespace_slot_counter() -> None:
    namespace = draw_namespace(b"\x00\x01\x02\x03\x04")
    assert namespace == "aaaqeaye"
    assert make_link_id(3, 17, namespace) == "asn-aaaqeaye-3-17"
    assert make_link_id(3, 17) == "asn-3-17", "journals without a namespace keep the old shape"
    assert parse_link_id("asn-3-17") == LinkId(3, 17, "")
    assert owns("asn-3-17", "")
    assert not owns("asn-aaaqeayf-3-17", namespace), "another journal's"


@pytest.mark.parametrize(
    "text",
    [
        "", "asn-3", "asn-3-17-1", "xyz-3-17", "asn-03-1", "asn-3-01", "asn--1-2", "asn-٣-1",
        "asn-AAAQEAYE-3-17", "asn-aaaqeay1-3-17", "asn-aaaqeay-3-17", "asn-aaaqeaye-3",
    ],
)  # fmt: skip
def test_foreign_or_non_canonical_ids_are_not_ours(text: str) -> None:
    assert parse_link_id(text) is None
    assert not owns(text, "")
    assert not owns(text, "aaaqeaye")


def test_impossible_ids_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        make_link_id(-1, 0)
    with pytest.raises(ValueError, match="namespace"):
        make_link_id(0, 0, "a-b")
    with pytest.raises(ValueError, match="longer"):
        make_link_id(0, 10**40)
    with pytest.raises(ValueError, match="random bytes"):
        draw_namespace(b"1234")
