"""The promotion rule's parts: the time-to-target race and rule 5 ("TTT no worse").

The sign test and the scripted-market promotions are in ``test_pitlane.py``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asnd.core.promotion import PromotionRule, Standing, TargetRace

E8 = 10**8
RULE = PromotionRule(min_windows=5, window_s=1, alpha=0.05)


def test_the_target_gain_is_exact_and_rounded_up() -> None:
    assert RULE.target_multiple == Decimal(2)
    assert RULE.target_gain_e8(200 * E8) == 200 * E8, "2x: the capital again"
    tiny = PromotionRule(5, 1, 0.05, Decimal("1.0002"))
    assert tiny.target_gain_e8(200 * E8) == 4_000_000, "0.04 USDT"
    # 1.5 x 3e-8 = 4.5e-8: the first whole equity at or above it is 5e-8, a gain of 2e-8.
    assert PromotionRule(5, 1, 0.05, Decimal("1.5")).target_gain_e8(3) == 2


@pytest.mark.parametrize("multiple", ["1", "0.5", "-2", "NaN", "Infinity"])
def test_a_target_multiple_not_above_one_is_refused(multiple: str) -> None:
    with pytest.raises(ValueError, match="target_multiple must be > 1"):
        PromotionRule(5, 1, 0.05, Decimal(multiple))


def after(race: TargetRace, ts_ns: int, equity_e8: int | None) -> tuple[int | None, int | None]:
    """Note one equity (a gain of 50 wins) and read the race: (start, reached)."""
    race.note(ts_ns, equity_e8, gain_e8=50)
    return race.start_e8, race.reached_ns


def test_a_race_is_won_at_the_first_event_at_or_above_its_target_and_stays_won() -> None:
    race = TargetRace(start_e8=100)
    assert after(race, 10, 149) == (100, None)
    assert after(race, 20, None) == (100, None), "no trusted book: no mark, no verdict"
    assert after(race, 30, 150) == (100, 30), "at the target counts"
    assert after(race, 40, 10) == (100, 30), "a fall afterwards does not undo the reach"
    assert after(race, 50, 500) == (100, 30)


def test_a_race_without_a_start_starts_from_the_first_mark() -> None:
    race = TargetRace()
    assert after(race, 10, None) == (None, None)
    assert after(race, 20, 300) == (300, None), "the first mark is the start"
    assert after(race, 30, 349) == (300, None)
    assert after(race, 40, 350) == (300, 40)


def winning(challenger_ns: int | None, champion_ns: int | None) -> Standing:
    """A standing from t=1000 that passes the sign test and the PnL rule, with each side
    having reached its target at the given event time (None: not reached)."""
    standing = Standing(
        began_ns=1000,
        target_gain_e8=1,
        challenger=TargetRace(0, challenger_ns),
        champion=TargetRace(0, champion_ns),
    )
    for _ in range(6):
        standing.add(10)
    assert standing.p_value <= RULE.alpha
    return standing


@pytest.mark.parametrize(
    ("challenger_ns", "champion_ns", "promoted"),
    [
        (None, None, True),  # neither reached the target: a tie on TTT
        (5000, None, True),  # only the challenger reached it: better
        (3000, 5000, True),  # earlier
        (5000, 5000, True),  # at the same event: no worse
        (5001, 5000, False),  # later: worse, however good its windows
        (None, 5000, False),  # the champion reached it, the challenger not (yet)
    ],
)
def test_promotion_requires_a_time_to_target_no_worse_than_the_champions(
    challenger_ns: int | None, champion_ns: int | None, promoted: bool
) -> None:
    standing = winning(challenger_ns, champion_ns)
    assert standing.ttt_no_worse is promoted
    assert standing.passes(RULE, alive=True) is promoted


def test_time_to_target_is_shown_in_seconds_since_the_standing_began() -> None:
    standing = winning(1000 + 2_500_000_000, None)
    assert standing.ttt_s(standing.challenger) == 2.5
    assert standing.ttt_s(standing.champion) is None


def test_a_standing_without_a_race_is_judged_on_its_windows_alone() -> None:
    standing = Standing()
    assert standing.target_gain_e8 is None
    for _ in range(6):
        standing.add(10)
    assert standing.passes(RULE, alive=True)
