"""Numbers and times as text a person reads: exact money and ISO 8601 UTC event times."""

from __future__ import annotations

import time

from journal.decimals import units_to_str

__all__ = ["e8_text", "utc_text"]


def e8_text(e8: int, *, min_decimals: int = 0) -> str:
    """An amount in 1e-8 units (money ``*_e8``) as its exact decimal, trailing zeros dropped
    down to ``min_decimals`` digits: 80000 -> "0.0008", 2 * 10**10 -> "200" ("200.00" with
    ``min_decimals=2``). Nothing is rounded."""
    text = units_to_str(e8, 8)
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(min_decimals, "0")
    return f"{whole}.{frac}" if frac else whole


def utc_text(ts_ns: int | None) -> str | None:
    """An event time as ISO 8601 UTC to the millisecond ("2026-12-02T07:06:10.123Z"), rounded
    down (the exact ns stay in the callers' integer columns). ``time.gmtime``: half the cost
    of a ``datetime``, and a backtest writes one per CSV row."""
    if ts_ns is None:
        return None
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1_000_000:03d}Z"
