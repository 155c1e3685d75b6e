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
4. its virtual slot is alive (equity above 0; a virtual sudden death disqualifies).

Standings restart when the champion changes (a promotion or an operator swap): a challenger
must prove itself against the champion in force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = ["PromotionRule", "Standing", "sign_test_p"]


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

    @property
    def window_ns(self) -> int:
        return self.window_s * 1_000_000_000

    def window_of(self, ts_ns: int) -> int:
        return ts_ns // self.window_ns


@dataclass(slots=True)
class Standing:
    """A challenger's record against the champion in force."""

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
            and self.p_value <= rule.alpha
        )
