"""Link ids: deterministic, short, parsed back, foreign ids recognised as foreign."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asnd.core.link_id import MAX_LEN, LinkId, make_link_id, parse_link_id


@given(slot=st.integers(0, 10**6), n=st.integers(0, 10**20))
def test_ids_round_trip_and_fit_bybit(slot: int, n: int) -> None:
    text = make_link_id(slot, n)
    assert len(text) <= MAX_LEN
    assert parse_link_id(text) == LinkId(slot, n)


def test_the_shape_is_prefix_slot_counter() -> None:
    assert make_link_id(3, 17) == "asn-3-17"
    assert make_link_id(3, 17, prefix="j2") == "j2-3-17"
    assert parse_link_id("j2-3-17", prefix="j2") == (3, 17)


@pytest.mark.parametrize(
    "text", ["", "asn-3", "asn-3-17-1", "xyz-3-17", "asn-03-1", "asn-3-01", "asn--1-2", "asn-٣-1"]
)
def test_foreign_or_non_canonical_ids_are_not_ours(text: str) -> None:
    assert parse_link_id(text) is None


def test_impossible_ids_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        make_link_id(-1, 0)
    with pytest.raises(ValueError, match="prefix"):
        make_link_id(0, 0, prefix="a-b")
    with pytest.raises(ValueError, match="longer"):
        make_link_id(0, 10**40)
