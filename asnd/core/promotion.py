"""The promotion rule: when a shadow challenger has proven itself against its champion.

Both sides are measured the same way: the champion's strategy runs as a shadow too (its
"twin", ``asnd.core.shadow``), so challenger and champion get virtual fills from the same
L2 replay model on the same market events and the comparison is not biased by the live
venue's fills versus the replay's.

Windows. Time is event time (``ts_local_ns`` of the market events, never a clock), cut into
windows of ``window_s`` seconds (window ``k`` is ``[k * window_s, (k + 1) * window_s)``). At
the first market event of a later window, each side's PnL over the window that ended is its
equity change (conservative mark) since the window began; the comparison is
``d = challenger PnL - champion PnL`` (exact integers, 1e-8 of the quote currency).

Test: a one-sided **sign test** (exact binomial, computed with ``math.comb``; no scipy) of
H0 "a window is as likely to favour either side" against H1 "the challenger wins more often".
Windows with ``d == 0`` (typically both flat) carry no evidence and are dropped from ``n``;
``k`` is the number of windows with ``d > 0``; the p-value is ``P(Binom(n, 1/2) >= k)``.
The sign test is chosen over a t-test because window PnLs are heavy tailed (a few windows
carry most of the PnL) and it needs no variance estimate from few windows.

A challenger is promoted when, at a window close, all of:

1. at least ``min_windows`` windows have been compared (ties included),
2. ``p <= alpha``,
3. its cumulative PnL over the compared windows is at least the champion's (the mean
   difference is not negative: winning often by little while losing rarely by much is not
   better), and
4. its virtual slot is alive (equity above 0; a virtual sudden death disqualifies), and
5. its **time-to-target is no worse**: if the champion's twin has reached the target since
   the standing began, at event time ``t_c``, the challenger reached it too, at or before
   ``t_c``. If the champion has not reached it, this holds (a challenger that reached it
   while the champion did not is better, not worse; neither reaching it is a tie).

Time-to-target (TTT) is the project's central measure (``evolution.fitness``): how long a
strategy takes to grow its capital to ``target_multiple`` x capital. Both sides are shadows
with the slot's virtual capital, so a fresh side's target is ``target_multiple`` x the
slot's capital, in exact integers of 1e-8, at the same conservative mark the windows use.
A side's TTT is the ``ts_local_ns`` of the first market event after which its equity is at
or above its target, since the standing began; it is recorded once and kept even if the
equity falls back (the race was won then). Every market event is checked (no window
close needed).

A side that does not start the standing fresh -- the champion's twin when a challenger
arrives later, or a challenger whose standing restarted under a new champion -- races
from the equity it had when the standing began: its target is that equity plus the same
gain, ``(target_multiple - 1)`` x the slot's capital (for a fresh side this is exactly
``target_multiple`` x capital). Otherwise a twin that had already doubled its virtual
capital would have "reached" the target at once against every later challenger and no
challenger could ever be promoted; and a challenger already rich when the champion changed
would win the race without running it. (A side that cannot be marked when the standing
begins, for want of a trusted book, starts from its first mark.)

Standings restart when the champion changes (a promotion or an operator swap): a challenger
must prove itself against the champion in force. A restart starts both races again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

__all__ = ["PromotionRule", "Standing", "TargetRace", "sign_test_p"]


def sign_test_p(wins: int, losses: int) -> float:
    """One-sided exact sign-test p-value: P(X >= wins) for X ~ Binom(wins + losses, 1/2).

    1.0 when there is no evidence (no non-tied window)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(wins, n + 1))
    return float(Fraction(tail, 1 << n))


@dataclass(frozen=True, slots=True)
class PromotionRule:
    min_windows: int
    window_s: int
    alpha: float
    #: The time-to-target race is to this multiple of the slot's capital (> 1).
    target_multiple: Decimal = Decimal(2)

    def __post_init__(self) -> None:
        if not self.target_multiple.is_finite() or self.target_multiple <= 1:
            raise ValueError(f"target_multiple must be > 1, got {self.target_multiple}")

    def target_gain_e8(self, capital_e8: int) -> int:
        """The gain (1e-8 of the quote currency) that wins the race from ``capital_e8``:
        exactly ``(target_multiple - 1) x capital``, rounded up (equity is whole 1e-8s), so
        ``capital + gain`` is the first whole equity at or above ``target_multiple x capital``."""
        return math.ceil(Fraction(self.target_multiple - 1) * capital_e8)

    @property
    def window_ns(self) -> int:
        return self.window_s * 1_000_000_000

    def window_of(self, ts_ns: int) -> int:
        return ts_ns // self.window_ns


@dataclass(slots=True)
class TargetRace:
    """One side's time-to-target since its standing began: the equity it races from
    (``start_e8``; None until it can first be marked) and the event time at which its equity
    first reached ``start_e8 + gain_e8`` (``reached_ns``; None until then)."""

    start_e8: int | None = None
    reached_ns: int | None = None

    def note(self, ts_ns: int, equity_e8: int | None, gain_e8: int) -> None:
        """The side's equity after the market event at ``ts_ns`` (None: cannot be marked)."""
        if self.reached_ns is not None or equity_e8 is None:
            return
        if self.start_e8 is None:
            self.start_e8 = equity_e8
        elif equity_e8 >= self.start_e8 + gain_e8:
            self.reached_ns = ts_ns


@dataclass(slots=True)
class Standing:
    """A challenger's record against the champion in force, since event time ``began_ns``.

    ``target_gain_e8`` is the time-to-target race's gain (``PromotionRule.target_gain_e8``);
    None runs no race (rule 5 then holds)."""

    began_ns: int = 0
    target_gain_e8: int | None = None
    challenger: TargetRace = field(default_factory=TargetRace)
    champion: TargetRace = field(default_factory=TargetRace)
    windows: int = 0
    wins: int = 0
    losses: int = 0
    sum_diff_e8: int = 0
    diffs_e8: list[int] = field(default_factory=list)

    def add(self, diff_e8: int) -> None:
        self.windows += 1
        self.sum_diff_e8 += diff_e8
        self.wins += diff_e8 > 0
        self.losses += diff_e8 < 0
        self.diffs_e8.append(diff_e8)
        del self.diffs_e8[:-1000]  # the recent ones, for display; the counts keep the rest

    @property
    def ttt_no_worse(self) -> bool:
        """Rule 5 of the module doc."""
        champion, challenger = self.champion.reached_ns, self.challenger.reached_ns
        return champion is None or (challenger is not None and challenger <= champion)

    def ttt_s(self, race: TargetRace) -> float | None:
        """A side's time-to-target in seconds since the standing began (None: not reached)."""
        return None if race.reached_ns is None else (race.reached_ns - self.began_ns) / 1e9

    @property
    def p_value(self) -> float:
        return sign_test_p(self.wins, self.losses)

    @property
    def mean_diff_e8(self) -> float:
        return self.sum_diff_e8 / self.windows if self.windows else 0.0

    def passes(self, rule: PromotionRule, *, alive: bool) -> bool:
        """The rule of the module doc."""
        return (
            alive
            and self.windows >= rule.min_windows
            and self.sum_diff_e8 >= 0
            and self.ttt_no_worse
            and self.p_value <= rule.alpha
        )
