"""Moved to ``asnd.backoff`` (one backoff rule for the whole daemon); re-exported here so
imports written against the old place keep working."""

from __future__ import annotations

from asnd.backoff import Backoff

__all__ = ["Backoff"]
