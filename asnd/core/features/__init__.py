"""Microstructure features of one symbol: their names, configuration and definitions. The
market kernel (``asnd.core.kernel``) computes them, one event at a time (the live daemon) and
over a journal as columns (``FeatureFrame``: backtests, evolution) with the same code.

Names and order (``FEATURE_NAMES``; a row is a tuple of floats in this order):

==================== ===========================================================================
imbalance            b / (b + a): best-bid size over best-bid plus best-ask size, in (0, 1)
pressure             b5 / (b5 + a5): the same over the top ``depth`` (5) levels of each side
clv                  (L - B) / (A - B) clipped to [0, 1]: where the last trade price L sits
                     between best bid B and best ask A (0.5 before the first trade). The
                     blueprint used the mid here, which is always 0.5.
spread_ticks         A - B, in ticks
microprice_dev_ticks microprice - mid, in ticks: (A - B) * (b - a) / (2 * (a + b))
ofi                  order-flow imbalance (Cont, Kukanov and Stoikov 2014): the sum of the
                     per-update OFI e_n over the window, over the sum of b + a over the window
volatility_ticks     realised volatility: root mean square of mid-price changes (ticks) per
                     book update over the window
trade_flow           sum(side * qty) / sum(qty) over the last ``trade_window`` trades, in
                     [-1, 1] (0 before the first trade)
==================== ===========================================================================

with e_n = b_n [B_n >= B_{n-1}] - b_{n-1} [B_n <= B_{n-1}] - a_n [A_n <= A_{n-1}]
+ a_{n-1} [A_n >= A_{n-1}] (prices in ticks, sizes in lots).

When a row is emitted: once per ``BookSnapshot``/``BookDelta`` of the symbol after which the
book is valid (not stale, both sides non-empty). Trades of the symbol update the trade state
(last price, trade window) and emit no row. Other symbols' events and other kinds are ignored.

Windows: ``ofi`` and ``volatility_ticks`` use the last ``book_window`` rows of the current
*run*. A run is a stretch of consecutive rows; a snapshot, or a book event that emitted no row
(stale, one-sided book), ends it, because a change across a gap is not an order flow. The first
row of a run has e = 0 and a mid change of 0. The trade window spans the whole stream.

Why the values are exact and the same on every path: every feature is computed from exact
integers (ticks, lots and their window sums) and then one IEEE float division (or sqrt).
Integer sums are int64: sizes and sums must stay below 2**63 (real instruments are many
orders of magnitude below).
"""

from asnd.core.features.frame import FeatureFrame
from asnd.core.features.spec import FEATURE_NAMES, FeatureConfig, FeatureRow
from asnd.core.features.targets import forward_returns, forward_returns_ms

__all__ = [
    "FEATURE_NAMES",
    "FeatureConfig",
    "FeatureFrame",
    "FeatureRow",
    "forward_returns",
    "forward_returns_ms",
]
