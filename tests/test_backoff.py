"""The one backoff rule (``asnd.backoff``) every retry in the daemon uses."""

from __future__ import annotations

import random

import pytest

from asnd.backoff import Backoff


def test_unjittered_backoff_doubles_up_to_the_cap() -> None:
    rule = Backoff(base_s=0.25, cap_s=3.0, jitter=0.0)
    assert [rule.delay(n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_comes_from_the_injected_source_and_stays_in_its_band() -> None:
    rule = Backoff(base_s=1.0, cap_s=8.0, jitter=0.5)
    first = [rule.delay(n, random.Random(7)) for n in range(1, 6)]
    again = [rule.delay(n, random.Random(7)) for n in range(1, 6)]
    assert first == again  # seeded: a test (or a replay) waits exactly as long
    for n, delay in enumerate(first, start=1):
        raw = rule.raw(n)
        assert raw * 0.5 <= delay < raw
    # "equal jitter" as the Bybit client always drew it: raw * (0.5 + u / 2)
    u = random.Random(3).random()
    assert rule.delay(3, random.Random(3)) == 4.0 * (0.5 + u / 2)


def test_a_very_long_outage_stays_at_the_cap() -> None:
    assert Backoff(0.5, 30.0, jitter=0.0).delay(10_000) == 30.0


def test_a_jittered_backoff_refuses_to_draw_from_a_hidden_source() -> None:
    with pytest.raises(ValueError, match="needs a random source"):
        Backoff(1.0, 2.0).delay(1)


@pytest.mark.parametrize(
    ("base", "cap", "jitter", "message"),
    [
        (0.0, 1.0, 0.5, "0 < base_s <= cap_s"),
        (2.0, 1.0, 0.5, "0 < base_s <= cap_s"),
        (1.0, 2.0, 1.5, r"jitter must be within \[0, 1\]"),
    ],
)
def test_nonsense_rules_are_refused(base: float, cap: float, jitter: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(base, cap, jitter)
