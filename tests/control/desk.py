"""A small, real, in-memory control handler: the operator desk a test daemon would have.

It keeps slot states, "journals" every ``OperatorCommand`` into a list before acting (as the
daemon does with its journal), and answers from that state. Not a mock: it has behaviour, and
tests assert on the replies and the state, never on which methods were called.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

import trio

from asnd.control import (
    ChallengersRequest,
    ControlError,
    KillRequest,
    ResumeRequest,
    StatusReport,
    StatusRequest,
    SwapRequest,
)
from journal.events import OperatorCommand


@dataclass
class SlotView:
    symbol: str
    strategy_id: str
    state: str = "active"
    equity: Decimal = Decimal("200")
    position: Decimal = Decimal("0")


@dataclass
class Desk:
    slots: list[SlotView] = field(
        default_factory=lambda: [
            SlotView(symbol, f"champion-{symbol.lower()}")
            for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT")
        ]
    )
    journal: list[OperatorCommand] = field(default_factory=list)
    halted: bool = False
    seq: int = 0

    def _journal(self, command: OperatorCommand) -> None:
        self.seq += 1
        self.journal.append(command)

    async def status(self, command: OperatorCommand, request: StatusRequest) -> object:
        self._journal(command)
        report: StatusReport = {
            "daemon": {"venue": "sim", "state": "halted" if self.halted else "trading"},
            "slots": [
                {
                    "slot": index,
                    "symbol": slot.symbol,
                    "strategy_id": slot.strategy_id,
                    "state": slot.state,
                    "equity": str(slot.equity),
                    "position": str(slot.position),
                    "pnl": str(slot.equity - Decimal("200")),
                    "open_orders": 0,
                    "last_signal": 0.25 if index % 2 else None,
                }
                for index, slot in enumerate(self.slots)
            ],
            "feed": {"state": "connected", "last_message_age_ms": 12},
            "books": [
                {"symbol": slot.symbol, "state": "synced", "age_ms": 40} for slot in self.slots
            ],
            "journal": {"seq": self.seq, "durable_seq": self.seq, "lag": 0},
        }
        return report

    async def swap(self, command: OperatorCommand, request: SwapRequest) -> object:
        self._journal(command)
        try:
            document = json.loads(request.document)
        except json.JSONDecodeError as exc:
            raise ControlError("invalid_strategy", f"{request.source}: {exc.msg}") from None
        slot = self.slots[request.slot]
        old = slot.strategy_id
        slot.strategy_id = str(document.get("id", request.digest[:12]))
        return {"slot": request.slot, "old": old, "new": slot.strategy_id}

    async def kill(self, command: OperatorCommand, request: KillRequest) -> object:
        self._journal(command)
        targets = range(len(self.slots)) if request.slot is None else [request.slot]
        for index in targets:
            self.slots[index].state = "dead"
        if request.slot is None:
            self.halted = True
        return {"killed": list(targets), "halted": self.halted}

    async def resume(self, command: OperatorCommand, request: ResumeRequest) -> object:
        self._journal(command)
        if request.slot is None:
            self.halted = False
            return {"halted": False}
        if self.halted:
            raise ControlError("halted", "trading is halted; resume all first")
        self.slots[request.slot].state = "active"
        return {"slot": request.slot, "state": "active"}

    async def challengers(self, command: OperatorCommand, request: ChallengersRequest) -> object:
        self._journal(command)
        return [{"strategy_id": "chal_1", "slot": 0, "windows": 3, "p_value": None}]


@dataclass
class BrokenDesk(Desk):
    """A desk with a bug in ``status`` and a result that is not JSON in ``challengers``."""

    async def status(self, command: OperatorCommand, request: StatusRequest) -> object:
        self._journal(command)
        raise KeyError("equity")

    async def challengers(self, command: OperatorCommand, request: ChallengersRequest) -> object:
        return {"p_value": float("nan")}


@dataclass
class GatedDesk(Desk):
    """A desk whose ``kill`` waits until the test opens the gate: a command still running."""

    gate: trio.Event = field(default_factory=trio.Event)

    async def kill(self, command: OperatorCommand, request: KillRequest) -> object:
        await self.gate.wait()
        return await super().kill(command, request)
