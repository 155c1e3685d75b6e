"""The pit lane on scripted markets: shadows, the sign test, promotion and its swap."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import replace

import msgspec
import pytest

from asnd.core.pitlane import PitLane
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.promotion import PromotionRule, Standing, sign_test_p
from asnd.core.shadow import Shadow
from asnd.core.slot import SlotConfig
from journal.events import (
    BookDelta,
    BookSnapshot,
    ChallengerLoaded,
    ChallengerRejected,
    Event,
    InstrumentInfo,
    Promotion,
    StrategyLoaded,
    Swap,
)

SYMBOL = "XRPUSDT"
CONFIG = CoreConfig((SlotConfig(SYMBOL, "10", "100", order_style="cross"),))
RULE = PromotionRule(min_windows=5, window_s=1, alpha=0.05)
STEP_NS = 100_000_000  # ten book updates per one-second window


def doc(strategy_id: str, signal: float) -> str:
    """A constant strategy: always long (signal > 0.5), short (< -0.5) or flat."""
    return json.dumps({
        "format": "asn-strategy", "version": 1, "id": strategy_id, "features": [],
        "signal": {"const": signal}, "size": {"const": 5.0},
        "params": {"entry_long": 0.5, "entry_short": -0.5, "size_range": [0.0, 1.0]},
    })  # fmt: skip


def rising_market(steps: int, start_ns: int) -> list[Event]:
    """The touch moves up one tick every ``STEP_NS``: long wins, short loses, flat is 0.

    Each step is two deltas, the ask first and then the bid, so a row's touch (at which a
    shadow's order is priced) was also on the replay's book when the order arrives."""
    out: list[Event] = []
    for i in range(1, steps + 1):
        ts = start_ns + i * STEP_NS
        bid = 10_000 + i
        out.append(BookDelta(0, ts - 1, SYMBOL, 2 * i, 0, 0, 0, [], [], [bid, bid + 1], [0, 5000]))
        out.append(BookDelta(0, ts, SYMBOL, 2 * i + 1, 0, 0, 0, [bid], [5000], [], []))
    return out


def opening() -> list[Event]:
    bids = [10_000 - k for k in range(20)]
    asks = [10_001 + k for k in range(20)]
    return [
        InstrumentInfo(0, 0, "bybit", SYMBOL, "0.0001", "1"),
        BookSnapshot(0, 1, SYMBOL, 1, 0, 0, 0, bids, [5000] * 20, asks, [5000] * 20),
        StrategyLoaded(0, 1, 0, "flat", "", "config", doc("flat", 0.0)),
    ]


class Core:
    """The core actor's order without trio: each event to both folds, decisions FIFO."""

    def __init__(self, rule: PromotionRule = RULE, mode: str = "inherit") -> None:
        self.state = DaemonState(CONFIG)
        self.pit = PitLane(rule, mode)
        self.journal: list[Event] = []

    def feed(self, event: Event) -> None:
        queue: deque[Event] = deque([event])
        while queue:
            stamped = msgspec.structs.replace(queue.popleft(), seq=len(self.journal) + 1)
            self.journal.append(stamped)
            queue.extend(self.state.apply(stamped))
            queue.extend(self.pit.apply(stamped, self.state))

    def feed_all(self, events: list[Event]) -> None:
        for event in events:
            self.feed(event)


def loaded(strategy_id: str, signal: float, slot: int = 0) -> ChallengerLoaded:
    text = doc(strategy_id, signal)
    source = f"strategy_challenger_0_{strategy_id}.json"
    return ChallengerLoaded(0, 2, slot, strategy_id, "d", source, text)


def test_sign_test_p_values_are_exact_binomial_tails() -> None:
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(5, 0) == 1 / 32
    assert sign_test_p(4, 1) == 6 / 32
    assert sign_test_p(0, 3) == 1.0
    assert sign_test_p(3, 3) == pytest.approx(42 / 64)


def test_a_standing_needs_windows_significance_and_no_worse_total() -> None:
    standing = Standing()
    for diff in (10, 10, 10, 10):
        standing.add(diff)
    assert not standing.passes(RULE, alive=True), "four windows are fewer than min_windows"
    standing.add(0)
    assert standing.windows == 5
    assert standing.p_value == 1 / 16, "ties carry no evidence"
    assert not standing.passes(RULE, alive=True)
    standing.add(10)
    assert standing.passes(RULE, alive=True)
    assert not standing.passes(RULE, alive=False), "a virtual sudden death disqualifies"
    lopsided = Standing()
    for diff in (1, 1, 1, 1, 1, 1, -100):
        lopsided.add(diff)
    assert lopsided.p_value <= 0.0625
    assert not lopsided.passes(replace(RULE, alpha=0.1), alive=True), "total PnL is worse"


def test_the_better_challenger_is_promoted_and_the_worse_never() -> None:
    core = Core()
    core.feed_all(opening())
    core.feed(loaded("long", 5.0))
    core.feed(loaded("short", -5.0))
    core.feed_all(rising_market(120, 0))
    promotions = [e for e in core.journal if isinstance(e, Promotion)]
    assert len(promotions) == 1
    promotion = promotions[0]
    assert (promotion.challenger_id, promotion.champion_id) == ("long", "flat")
    assert promotion.windows >= RULE.min_windows
    assert promotion.p_value <= RULE.alpha
    assert promotion.statistic > 0
    at = core.journal.index(promotion)
    swap, strategy = core.journal[at + 1], core.journal[at + 2]
    assert isinstance(swap, Swap)
    assert (swap.old_strategy_id, swap.new_strategy_id, swap.cause) == ("flat", "long", "promotion")
    assert isinstance(strategy, StrategyLoaded)
    assert strategy.strategy_id == "long"
    champion = core.state.slots[0].strategy
    assert champion is not None
    assert champion.document.id == "long"
    rows = {r["challenger"]: r for r in core.pit.standings(core.state)}
    assert rows["long"]["status"] == "promoted"
    assert rows["short"]["status"] == "shadowing"
    short = core.pit.challengers["short"].standing
    assert short.losses > 0
    assert short.wins == 0


def test_the_same_journal_gives_the_same_promotions() -> None:
    runs = []
    for _ in range(2):
        core = Core()
        core.feed_all(opening())
        core.feed(loaded("long", 5.0))
        core.feed_all(rising_market(80, 0))
        runs.append([msgspec.json.encode(e) for e in core.journal])
    assert runs[0] == runs[1]


def test_flatten_mode_swaps_through_a_flattening_swap() -> None:
    core = Core(mode="flatten")
    core.feed_all(opening())
    core.feed(loaded("long", 5.0))
    core.feed_all(rising_market(80, 0))
    swaps = [e for e in core.journal if isinstance(e, Swap)]
    assert [s.mode for s in swaps] == ["flatten"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (loaded("flat", 5.0), "already the champion"),
        (msgspec.structs.replace(loaded("x", 5.0), slot=3), "no slot 3"),
        (msgspec.structs.replace(loaded("x", 5.0), document="{"), "invalid strategy"),
        (msgspec.structs.replace(loaded("x", 5.0), strategy_id="y"), "does not match"),
    ],
)
def test_bad_challengers_are_rejected_with_their_reason(
    event: ChallengerLoaded, reason: str
) -> None:
    core = Core()
    core.feed_all(opening())
    core.feed(event)
    rejected = [e for e in core.journal if isinstance(e, ChallengerRejected)]
    assert len(rejected) == 1
    assert reason in rejected[0].reason
    assert core.pit.challengers == {}
    assert core.pit.standings(core.state)[0]["status"] == "rejected"


def test_a_duplicate_id_is_rejected_and_the_first_keeps_shadowing() -> None:
    core = Core()
    core.feed_all(opening())
    core.feed(loaded("long", 5.0))
    core.feed(msgspec.structs.replace(loaded("long", 5.0), source="elsewhere"))
    rejected = [e for e in core.journal if isinstance(e, ChallengerRejected)]
    assert [r.source for r in rejected] == ["elsewhere"]
    assert "duplicate id" in rejected[0].reason
    assert core.pit.challengers["long"].status == "shadowing"


def test_an_operator_swap_restarts_the_standings() -> None:
    core = Core(rule=replace(RULE, min_windows=1000))
    core.feed_all(opening())
    core.feed(loaded("long", 5.0))
    core.feed_all(rising_market(40, 0))
    assert core.pit.challengers["long"].standing.windows >= 2
    core.feed(StrategyLoaded(0, 4 * 10**9 + 1, 0, "flat2", "", "op", doc("flat2", 0.1)))
    core.feed_all(rising_market(80, 0)[80:])
    standing = core.pit.challengers["long"].standing
    assert standing.windows == 3, "counted only against the new champion: windows 5 to 7"


def test_a_broken_shadow_stops_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    core = Core()
    core.feed_all(opening())
    core.feed(loaded("long", 5.0))

    def broken(self: Shadow, event: Event) -> None:
        raise RuntimeError("replay bug")

    monkeypatch.setattr(Shadow, "on_market", broken)
    core.feed_all(rising_market(3, 0))
    assert core.pit.challengers["long"].status == "failed: RuntimeError: replay bug"
    assert core.state.last_seq == len(core.journal), "the live fold went on"
