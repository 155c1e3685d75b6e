"""Exact money text and ISO 8601 UTC event times, as the reports and the desk print them."""

from __future__ import annotations

from journal.texts import e8_text, utc_text


def test_money_text_is_exact_with_trailing_zeros_dropped() -> None:
    assert e8_text(80_000) == "0.0008"
    assert e8_text(2 * 10**10) == "200"
    assert e8_text(2 * 10**10, min_decimals=2) == "200.00"
    assert e8_text(-310_545, min_decimals=2) == "-0.00310545"
    assert e8_text(1) == "0.00000001"
    assert e8_text(0, min_decimals=2) == "0.00"


def test_event_times_are_utc_to_the_millisecond_rounded_down() -> None:
    assert utc_text(1_700_000_000_999_999_999) == "2023-11-14T22:13:20.999Z"
    assert utc_text(1_733_011_200_000_000_000) == "2024-12-01T00:00:00.000Z"
    assert utc_text(-1) == "1969-12-31T23:59:59.999Z"
    assert utc_text(None) is None
