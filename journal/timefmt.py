"""Event times (integer ns since the epoch) as text a person reads: ISO 8601 in UTC."""

from __future__ import annotations

import datetime as dt

__all__ = ["utc_text"]


def utc_text(ts_ns: int | None) -> str | None:
    """An event time as ISO 8601 UTC to the millisecond ("2026-12-02T07:06:10.123Z"), rounded
    down (the exact ns stay in the callers' integer columns)."""
    if ts_ns is None:
        return None
    moment = dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, dt.UTC)
    millis = ts_ns // 1_000_000 % 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}Z"
