"""The pit lane on scripted markets: shadows, the sign test, promotion and its swap."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import replace
from decimal import Decimal

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


def doc(strategy_id: str, signal: float, size: float = 5.0) -> str:
    """A constant strategy: always long (signal > 0.5), short (< -0.5) or flat; ``size``
    5.0 trades near the slot's maximum quantity, -5.0 near its minimum."""
    return json.dumps({
        "format": "asn-strategy", "version": 1, "id": strategy_id, "features": [],
        "signal": {"const": signal}, "size": {"const": size},
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


def walk(moves: list[int], start_ns: int = 0) -> list[Event]:
    """The touch moves one tick up (+1) or down (-1) every ``STEP_NS``, from the opening's.

    A rise is ``rising_market``'s step; a fall is its mirror (the bid first, then the ask)."""
    out: list[Event] = []
    bid = 10_000
    for i, move in enumerate(moves, start=1):
        ts, new = start_ns + i * STEP_NS, bid + move
        if move > 0:
            out.append(
                BookDelta(0, ts - 1, SYMBOL, 2 * i, 0, 0, 0, [], [], [new, new + 1], [0, 5000])
            )
            out.append(BookDelta(0, ts, SYMBOL, 2 * i + 1, 0, 0, 0, [new], [5000], [], []))
        else:
            out.append(BookDelta(0, ts - 1, SYMBOL, 2 * i, 0, 0, 0, [bid, new], [0, 5000], [], []))
            out.append(BookDelta(0, ts, SYMBOL, 2 * i + 1, 0, 0, 0, [], [], [new + 1], [5000]))
        bid = new
    return out  # fmt: skip


def opening(champion: str = doc("flat", 0.0)) -> list[Event]:
    bids = [10_000 - k for k in range(20)]
    asks = [10_001 + k for k in range(20)]
    champion_id = json.loads(champion)["id"]
    return [
        InstrumentInfo(0, 0, "bybit", SYMBOL, "0.0001", "1"),
        BookSnapshot(0, 1, SYMBOL, 1, 0, 0, 0, bids, [5000] * 20, asks, [5000] * 20),
        StrategyLoaded(0, 1, 0, champion_id, "", "config", champion),
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


def loaded(
    strategy_id: str, signal: float, slot: int = 0, *, size: float = 5.0, ts: int = 2
) -> ChallengerLoaded:
    text = doc(strategy_id, signal, size)
    source = f"strategy_challenger_0_{strategy_id}.json"
    return ChallengerLoaded(0, ts, slot, strategy_id, "d", source, text)


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


# ---------------------------------------------------------------------------- time-to-target
# A target of 1.0002 x the 200 USDT capital (a 0.04 USDT gain) is reached within seconds on
# these one-tick-per-step markets: a full-size long gains ~0.1 USDT a second.
TTT_RULE = replace(RULE, target_multiple=Decimal("1.0002"))


def promotions(core: Core) -> list[Promotion]:
    return [e for e in core.journal if isinstance(e, Promotion)]


@pytest.mark.parametrize("target_multiple", ["1.0002", "2"])
def test_a_challenger_that_reached_the_target_after_the_champion_is_not_promoted(
    target_multiple: str,
) -> None:
    """Down 2 s, then up 12 s: the short champion reaches the target in the fall; the long
    challenger loses the two falling windows, wins every rising one (the sign test passes,
    its total PnL is far better) but reaches the target only after recovering, 4 s later.
    With a 2x target neither side reaches it and the same challenger is promoted: the
    refusal is the time-to-target rule's alone."""
    rule = replace(RULE, target_multiple=Decimal(target_multiple))
    core = Core(rule=rule)
    core.feed_all(opening(doc("short-champion", -5.0)))
    core.feed(loaded("long", 5.0))
    core.feed_all(walk([-1] * 20 + [1] * 120))
    standing = core.pit.challengers["long"].standing
    assert standing.wins >= 9
    assert standing.losses == 2
    assert standing.p_value <= rule.alpha
    assert standing.sum_diff_e8 > 0
    if target_multiple == "2":
        assert [p.challenger_id for p in promotions(core)] == ["long"]
        assert standing.champion.reached_ns is None
        assert standing.challenger.reached_ns is None
        return
    assert promotions(core) == []
    assert core.pit.challengers["long"].status == "shadowing"
    champion_at, challenger_at = standing.champion.reached_ns, standing.challenger.reached_ns
    assert champion_at is not None
    assert challenger_at is not None
    assert champion_at < 2 * 10**9 < challenger_at, "the champion in the fall, the challenger after"
    row = next(r for r in core.pit.standings(core.state) if r["challenger"] == "long")
    assert row["champion_ttt_s"] == (champion_at - 2) / 1e9
    assert row["challenger_ttt_s"] == (challenger_at - 2) / 1e9


def test_a_challenger_that_reached_the_target_first_is_promoted() -> None:
    """A rising market: a full-size long challenger against a minimum-size long champion.
    Both reach the target before the promotion; the challenger first."""
    core = Core(rule=TTT_RULE)
    core.feed_all(opening(doc("small-long", 5.0, size=-5.0)))
    core.feed(loaded("long", 5.0))
    core.feed_all(walk([1] * 100))
    [promotion] = promotions(core)
    assert (promotion.challenger_id, promotion.champion_id) == ("long", "small-long")
    standing = core.pit.challengers["long"].standing
    champion_at, challenger_at = standing.champion.reached_ns, standing.challenger.reached_ns
    assert challenger_at is not None
    assert champion_at is not None
    assert challenger_at < champion_at <= promotion.ts_local_ns


def test_a_challenger_is_promoted_when_the_champion_never_reached_the_target() -> None:
    core = Core(rule=TTT_RULE)
    core.feed_all(opening())
    core.feed(loaded("long", 5.0))
    core.feed_all(rising_market(120, 0))
    [promotion] = promotions(core)
    assert promotion.challenger_id == "long"
    standing = core.pit.challengers["long"].standing
    assert standing.challenger.reached_ns is not None
    assert standing.challenger.reached_ns < promotion.ts_local_ns
    assert standing.champion.reached_ns is None, "flat never gains"
    row = next(r for r in core.pit.standings(core.state) if r["challenger"] == "long")
    assert row["champion_ttt_s"] is None
    assert isinstance(row["challenger_ttt_s"], float)
    assert row["challenger_ttt_s"] > 0


def test_a_standings_restart_starts_the_time_to_target_race_again() -> None:
    core = Core(rule=replace(TTT_RULE, min_windows=1000))
    core.feed_all(opening())
    core.feed(loaded("long", 5.0))
    core.feed_all(rising_market(40, 0))
    before = core.pit.challengers["long"].standing
    assert before.challenger.reached_ns is not None
    core.feed(StrategyLoaded(0, 4 * 10**9 + 1, 0, "flat2", "", "op", doc("flat2", 0.1)))
    rest = rising_market(80, 0)[80:]
    boundary = next(i for i, e in enumerate(rest) if e.ts_local_ns >= 5 * 10**9)
    core.feed_all(rest[: boundary + 1])
    challenger = core.pit.challengers["long"]
    after = challenger.standing
    assert after is not before
    assert after.began_ns == 5 * 10**9, "restarted at the first event of window 5"
    assert after.challenger.reached_ns is None
    assert after.champion.reached_ns is None
    assert after.challenger.start_e8 == challenger.start_e8, "from its equity at the restart"
    assert after.challenger.start_e8 is not None
    assert after.challenger.start_e8 > 200 * 10**8, "already richer than the capital"
    core.feed_all(rest[boundary + 1 :])
    reached = core.pit.challengers["long"].standing.challenger.reached_ns
    assert reached is not None, "it reached the target again"
    assert reached - after.began_ns >= 3 * STEP_NS, "it had to earn the gain again"


def test_a_late_challenger_races_the_twin_from_the_twins_equity_then() -> None:
    """The twin starts with the first challenger (flat, never promoted) and reaches the
    target at once; a challenger arriving 6 s later must not face a race already lost: the
    twin races it from its equity at that moment, and the faster challenger is promoted."""
    core = Core(rule=TTT_RULE)
    core.feed_all(opening(doc("small-long", 5.0, size=-5.0)))
    core.feed(loaded("flat", 0.0))
    market = walk([1] * 160)
    late = next(i for i, e in enumerate(market) if e.ts_local_ns > 6 * 10**9)
    core.feed_all(market[:late])
    first = core.pit.challengers["flat"].standing
    assert first.champion.reached_ns is not None, "the twin reached the target before"
    twin = core.pit._twins[0].shadow.equity_e8
    core.feed(loaded("long", 5.0, ts=market[late - 1].ts_local_ns))
    assert core.pit.challengers["long"].standing.champion.start_e8 == twin
    core.feed_all(market[late:])
    assert [p.challenger_id for p in promotions(core)] == ["long"]
    assert core.pit.challengers["flat"].status == "shadowing"
