"""Hypothesis strategies for journal events, derived from each kind's field types."""

from __future__ import annotations

from typing import Any, get_type_hints

import msgspec
from hypothesis import strategies as st

from journal.events import Event

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_BY_TYPE: dict[Any, st.SearchStrategy[Any]] = {
    int: INT64,
    float: st.floats(allow_nan=False),
    str: st.text(max_size=40),
    bool: st.booleans(),
    bytes: st.binary(max_size=200),
    list[int]: st.lists(INT64, max_size=30),
    list[str]: st.lists(st.text(max_size=10), max_size=5),
}


def events_of(cls: type[Event]) -> st.SearchStrategy[Event]:
    hints = get_type_hints(cls)
    fields = {f.name: _BY_TYPE[hints[f.name]] for f in msgspec.structs.fields(cls)}
    return st.builds(cls, **fields)
