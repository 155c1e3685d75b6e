"""Small builders for journal tests."""

from __future__ import annotations

from journal.events import BUY, BookDelta, Trade


def delta(i: int, levels: int = 5) -> BookDelta:
    """A realistic book delta: ``levels`` changed levels per side."""
    return BookDelta(
        0,
        1_700_000_000_000_000_000 + i * 1_000_000,
        "XRPUSDT",
        100 + i,
        10_000 + i,
        1_700_000_000_000 + i,
        1_700_000_000_000 + i,
        [19_500 - k for k in range(levels)],
        [1_000 + i + k for k in range(levels)],
        [19_501 + k for k in range(levels)],
        [2_000 + i + k for k in range(levels)],
    )


def trade(i: int) -> Trade:
    return Trade(0, 1_700_000_000_000_000_000 + i, "XRPUSDT", f"t{i}", BUY, 19_500, 10 + i, i)
