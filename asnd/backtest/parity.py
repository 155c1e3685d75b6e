"""Parity with live: a journal the daemon wrote, re-decided by a fresh core, decision by
decision.

Every journaled event is applied to a ``DaemonState`` built from the same config, as recovery
does. What ``apply`` returns is what the core decides now; the daemon journaled its decisions
right after their cause, first in first out (``asnd.core.drive.Loop``), so each one must equal
(seq aside) the next expected decision. A journaled event when nothing is expected is an
input -- unless it is a kind only the core makes (a decision nobody asked for: a difference).
An input arriving while decisions are still expected means the daemon did not make them
(missing: a difference). The journal stays the truth for the state (its events are what is
applied), so one difference does not cascade into many.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import msgspec

from asnd.core.portfolio import CoreConfig, DaemonState
from journal.codec import encode
from journal.events import (
    CancelIntent,
    Event,
    Liquidation,
    ModelDead,
    OrderIntent,
    RiskHalt,
    RiskVerdict,
    Signal,
    TradingHalted,
)

__all__ = ["Difference", "ParityReport", "verify_decisions"]

#: Kinds ``DaemonState.apply`` returns.
DECISIONS: Final = (Signal, OrderIntent, CancelIntent, RiskVerdict, ModelDead, Liquidation,
                    TradingHalted, RiskHalt)  # fmt: skip
#: Decisions that are never inputs (intents and halts can be: shutdown cancels, kill all).
ONLY_DECIDED: Final = (Signal, RiskVerdict, ModelDead, Liquidation, RiskHalt)


@dataclass(frozen=True, slots=True)
class Difference:
    seq: int  # the journaled event where the difference shows
    what: str  # "differs" | "missing" | "unexpected"
    expected: str  # the replay's decision ("" if none)
    journaled: str  # the journal's event ("" if none)

    def __str__(self) -> str:
        if self.seq < 0:
            return f"end of journal: replay decided {self.expected}, the journal has no such event"
        if self.what == "differs":
            return f"seq {self.seq}: journal has {self.journaled}, replay decided {self.expected}"
        if self.what == "missing":
            return f"seq {self.seq}: replay decided {self.expected}, the journal has no such event"
        return f"seq {self.seq}: journal has {self.journaled}, which replay did not decide"


@dataclass(slots=True)
class ParityReport:
    events: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # matched, by kind
    differences: list[Difference] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences and sum(self.decisions.values()) > 0


def _text(event: Event) -> str:
    return f"{type(event).__name__}{msgspec.to_builtins(event)}"


def _same(a: Event, b: Event) -> bool:
    return encode(msgspec.structs.replace(a, seq=0)) == encode(msgspec.structs.replace(b, seq=0))


def verify_decisions(config: CoreConfig, journal: Iterable[Event]) -> ParityReport:
    """Replay ``journal`` (a live daemon's, from its first event) against a fresh core."""
    state = DaemonState(config)
    report = ParityReport()
    expected: deque[Event] = deque()
    for event in journal:
        report.events += 1
        if expected and not isinstance(event, DECISIONS):
            while expected:
                missing = expected.popleft()
                report.differences.append(Difference(event.seq, "missing", _text(missing), ""))
        if expected:
            head = expected.popleft()
            if _same(head, event):
                report.decisions[type(event).__name__] += 1
            else:
                report.differences.append(
                    Difference(event.seq, "differs", _text(head), _text(event))
                )
        elif isinstance(event, ONLY_DECIDED):
            report.differences.append(Difference(event.seq, "unexpected", "", _text(event)))
        expected.extend(state.apply(event))
    for missing in expected:
        report.differences.append(Difference(-1, "missing", _text(missing), ""))
    return report
