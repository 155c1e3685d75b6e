"""orderLinkId: deterministic, within Bybit's 36 characters, parsed back to slot and seq."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.venues.bybit.link_id import MAX_LEN, LinkId, make_link_id, parse_link_id


@settings(max_examples=200)
@given(st.integers(0, 10**6), st.integers(0, 10**18))
def test_round_trip(slot: int, seq: int) -> None:
    text = make_link_id(slot, seq)
    assert len(text) <= MAX_LEN
    assert make_link_id(slot, seq) == text  # deterministic
    assert parse_link_id(text) == LinkId(slot, seq)


@pytest.mark.parametrize(
    "foreign",
    [
        "",
        "client-1",
        "test-order-link-001",
        "asn-1",
        "asn-1-2-3",
        "asn-x-2",
        "asn-01-2",
        "asn-1-",
        "ASN-1-2",
        "asn-\uff11-2",  # a fullwidth digit one: isdecimal() but not ASCII
    ],
)
def test_foreign_ids_are_not_ours(foreign: str) -> None:
    assert parse_link_id(foreign) is None


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        make_link_id(-1, 5)
    with pytest.raises(ValueError, match="longer than 36"):
        make_link_id(1, 10**40)
