"""DaemonState as a fold: determinism, replay, snapshot/restore equivalence, the real archive."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.core.drive import Loop, recover, replay
from asnd.core.instrument import E8
from asnd.core.kernel.frame import frame_from_events
from asnd.core.portfolio import SNAPSHOT_SCHEMA, CoreConfig, DaemonState, SnapshotError
from asnd.core.slot import SlotConfig, SlotStatus
from asnd.core.strategy import compile_strategy, parse_strategy
from asnd.core.watchtower import RiskLimits
from journal.bybit_archive import read_archive
from journal.codec import encode
from journal.events import Event, Kill, Resume, Signal, StateSnapshot

from .scenario import ScriptedVenue, delta, loaded, run, synthetic_market

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ("btcusdt", "ethusdt", "solusdt", "xrpusdt", "dogeusdt", "bnbusdt")
CHAMPIONS = [(REPO / "etc" / "strategies" / f"champion_{s}.json").read_text() for s in SYMBOLS]

CONFIG = CoreConfig(
    tuple(
        SlotConfig(
            "XRPUSDT",
            min_qty="10",
            max_qty="400",
            leverage=10 if i != 5 else 50,  # slot 5 lives dangerously
            order_style="join" if i % 2 == 0 else "cross",
        )
        for i in range(6)
    ),
    risk=RiskLimits(max_notional_e8=20_000 * E8),
)


def _inputs(seed: int, n: int) -> list[Event]:
    market = list(synthetic_market(seed, n))
    head, tail = market[:2], market[2:]
    third = len(tail) // 3
    return [
        head[0],
        *(loaded(i, CHAMPIONS[i]) for i in range(6)),
        head[1],
        *tail[:third],
        Kill(0, 0, 1, "operator"),
        *tail[third : 2 * third],
        Resume(0, 0, 1, "operator"),
        *tail[2 * third :],
    ]


@cache
def _live_run(seed: int = 7, n: int = 400) -> tuple[tuple[Event, ...], tuple[Event, ...], bytes]:
    """(journal, decisions, final snapshot) of a scripted live run."""
    loop = Loop(DaemonState(CONFIG))
    made = run(loop, ScriptedVenue(loop), _inputs(seed, n))
    return tuple(loop.journal), tuple(made), loop.state.snapshot()


def _zero_seq(events: list[Event] | tuple[Event, ...]) -> list[bytes]:
    return [encode(msgspec.structs.replace(e, seq=0)) for e in events]


def test_the_scripted_run_trades_fills_and_cancels() -> None:
    journal, _, _ = _live_run()
    kinds = Counter(type(e).__name__ for e in journal)
    for kind in ("Signal", "OrderIntent", "CancelIntent", "RiskVerdict", "Fill", "Liquidation"):
        assert kinds[kind] > 0, f"the scenario should exercise {kind}"


def test_same_inputs_give_byte_identical_journals() -> None:
    first = Loop(DaemonState(CONFIG))
    run(first, ScriptedVenue(first), _inputs(7, 400))
    journal, _, _ = _live_run()
    assert [encode(e) for e in first.journal] == [encode(e) for e in journal]


def test_replaying_the_journal_reproduces_every_decision_and_the_state() -> None:
    journal, made, final = _live_run()
    state = DaemonState(CONFIG)
    again: list[Event] = []
    for event in journal:
        again.extend(state.apply(event))
    assert _zero_seq(again) == _zero_seq(made)
    assert state.snapshot() == final


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_market_gives_the_same_decisions_every_time_and_on_replay(seed: int) -> None:
    inputs = _inputs(seed, 120)
    first, second = Loop(DaemonState(CONFIG)), Loop(DaemonState(CONFIG))
    made = run(first, ScriptedVenue(first), inputs)
    run(second, ScriptedVenue(second), inputs)
    assert [encode(e) for e in first.journal] == [encode(e) for e in second.journal]
    state = DaemonState(CONFIG)
    again: list[Event] = []
    for event in first.journal:
        again.extend(state.apply(event))
    assert _zero_seq(again) == _zero_seq(made)
    assert state.snapshot() == first.state.snapshot()


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_restore_at_any_point_then_fold_the_rest_equals_folding_everything(
    data: st.DataObject,
) -> None:
    # Either the long scripted run, or a short one on a market drawn from its seed.
    seed = data.draw(st.one_of(st.just(7), st.integers(0, 2**32 - 1)), label="seed")
    journal, _, final = _live_run(seed, 400 if seed == 7 else 120)
    k = data.draw(st.integers(0, len(journal)), label="k")
    head = DaemonState(CONFIG)
    replay(head, journal[:k])
    payload = head.snapshot()
    restored = DaemonState.restore(CONFIG, payload)
    assert restored.snapshot() == payload, "restore is exact"
    reference = DaemonState(CONFIG)
    replay(reference, journal[:k])
    for event in journal[k:]:
        assert _zero_seq(restored.apply(event)) == _zero_seq(reference.apply(event))
    assert restored.snapshot() == final


def test_snapshot_event_carries_the_last_seq_and_round_trips() -> None:
    journal, _, final = _live_run()
    state = DaemonState(CONFIG)
    replay(state, journal)
    event = state.snapshot_event(ts_local_ns=5)
    assert isinstance(event, StateSnapshot)
    assert event.as_of_seq == journal[-1].seq
    assert event.schema == SNAPSHOT_SCHEMA == "asn-core/3"
    assert event.payload == final
    assert state.apply(event) == [], "a snapshot in the journal changes nothing"


def test_recover_from_the_latest_snapshot_and_the_journal_after_it() -> None:
    journal, _made, final = _live_run()
    k = len(journal) // 2
    head = DaemonState(CONFIG)
    replay(head, journal[:k])
    snap = msgspec.structs.replace(head.snapshot_event(0), seq=journal[k - 1].seq + 1)
    # The journal as a restart reads it: everything, the snapshot in its place.
    on_disk = [
        *journal[:k],
        snap,
        *(msgspec.structs.replace(e, seq=e.seq + 1) for e in journal[k:]),
    ]
    state = recover(CONFIG, snap, on_disk)
    reference = DaemonState(CONFIG)
    replay(reference, on_disk)
    assert state.snapshot() == reference.snapshot()
    assert recover(CONFIG, None, journal).snapshot() == final


def test_restore_refuses_garbage_and_another_configuration() -> None:
    _, _, final = _live_run()
    with pytest.raises(SnapshotError, match="not readable"):
        DaemonState.restore(CONFIG, b"\x93garbage")
    other = CoreConfig((SlotConfig("BTCUSDT", min_qty="0.001", max_qty="0.01"),))
    with pytest.raises(SnapshotError, match="BTCUSDT"):
        DaemonState.restore(other, final)


def test_statuses_survive_a_restore() -> None:
    loop = Loop(DaemonState(CONFIG))
    venue = ScriptedVenue(loop)
    run(loop, venue, _inputs(3, 60)[:-10])
    run(loop, venue, [Kill(0, 0, 4, "operator")])
    restored = DaemonState.restore(CONFIG, loop.state.snapshot())
    assert restored.slots[4].status is SlotStatus.HALTED
    assert [s.intents for s in restored.slots] == [s.intents for s in loop.state.slots]
    assert [s.orders for s in restored.slots] == [s.orders for s in loop.state.slots]
    again = Loop(restored, next_seq=loop.next_seq)
    after = delta(10_000, [], [])  # a gap: the book goes stale in both
    assert _zero_seq(again.feed(after)) == _zero_seq(loop.feed(after))


# ------------------------------------------------------------------------- the real archive


def _archive_run(archive: Path, blueprint: str) -> tuple[list[Event], DaemonState]:
    docs = [blueprint, blueprint, blueprint, blueprint, CHAMPIONS[0], CHAMPIONS[5]]
    config = CoreConfig(
        tuple(
            SlotConfig(
                "XRPUSDT",
                min_qty="10",
                max_qty="200",
                leverage=5,
                order_style="join" if i < 3 else "cross",
            )
            for i in range(6)
        )
    )
    loop = Loop(DaemonState(config))
    events = list(read_archive(archive))
    run(
        loop,
        ScriptedVenue(loop),
        [events[0], *(loaded(i, d) for i, d in enumerate(docs)), *events[1:]],
    )
    return loop.journal, loop.state


def test_the_real_bybit_archive_through_six_slots(bybit_archive: Path, shared_data: Path) -> None:
    path = shared_data.parent / "blueprint" / "strategy.json"
    if not path.is_file():
        pytest.skip(f"the blueprint strategy {path} is not beside the data")
    blueprint = path.read_text()
    journal, state = _archive_run(bybit_archive, blueprint)
    signals = [e for e in journal if isinstance(e, Signal)]
    frame = frame_from_events(read_archive(bybit_archive), "XRPUSDT")
    assert len(signals) == 6 * len(frame), "every slot speaks on every valid book update"
    # Each slot's live signals equal its strategy run in batch over the same features.
    for slot in range(6):
        live = np.array([s.signal for s in signals if s.slot == slot])
        strategy = state.slots[slot].strategy
        assert strategy is not None
        batch = compile_strategy(parse_strategy(state.slots[slot].strategy_document))
        np.testing.assert_array_equal(live, batch.signal_batch(frame.values))
    assert {s.strategy_id for s in signals} >= {"champion-btcusdt", "champion-bnbusdt"}
    assert any(e for e in journal if type(e).__name__ == "OrderIntent")
    journal2, state2 = _archive_run(bybit_archive, blueprint)
    assert [encode(e) for e in journal2] == [encode(e) for e in journal]
    assert state2.snapshot() == state.snapshot()


_DIGEST_SCRIPT = """
import hashlib
from asnd.core.drive import Loop
from asnd.core.portfolio import DaemonState
from journal.codec import encode
from tests.core.scenario import ScriptedVenue, run
from tests.core.test_portfolio import CONFIG, _inputs
loop = Loop(DaemonState(CONFIG))
run(loop, ScriptedVenue(loop), _inputs(11, 200))
digest = hashlib.sha256()
for event in loop.journal:
    digest.update(encode(event))
print(digest.hexdigest(), len(loop.journal))
"""


def test_decisions_do_not_depend_on_the_process_hash_seed() -> None:
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        outputs.add(done.stdout)
    assert len(outputs) == 1, outputs
    (line,) = outputs
    assert int(line.split()[1]) > 200
