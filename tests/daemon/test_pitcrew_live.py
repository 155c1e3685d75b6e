"""The pit crew in the running daemon on the sim venue: challenger files in, shadows scored,
a promotion swapped in live, bad files rejected, and the new champion kept across a restart.

Windows are short (1 s of event time) so the tests take seconds. "Better" is made certain
with a flat challenger (never trades: its PnL is 0 in every window) against a champion
whose twin trades; "never promoted" with a copy of the champion under another id (every
window a tie while the original champion is in force: no evidence, p = 1)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from asnd.config import load_config
from asnd.core.pitlane import PitLane
from asnd.core.portfolio import DaemonState
from asnd.core.promotion import PromotionRule
from asnd.runtime import core_config
from evolution.export import challenger_name
from journal.codec import encode
from journal.events import (
    ChallengerLoaded,
    ChallengerRejected,
    Event,
    OrderAccepted,
    OrderReconciled,
    OrderRejected,
    OrderSent,
    Promotion,
    StrategyLoaded,
    Swap,
)

from .harness import DaemonProcess, fold, journal_events, make_config, wait_for
from .test_daemon_live import asnctl, running, until

PROMOTION = {"min_windows": "4", "window_s": "1", "alpha": "0.2"}


def champion_doc(root: Path, symbol: str = "btcusdt") -> dict[str, object]:
    doc: dict[str, object] = json.loads(
        (root / "etc" / "strategies" / f"champion_{symbol}.json").read_text()
    )
    return doc


def write_challengers(root: Path) -> Path:
    """A flat challenger and a twin of the champion for slot 0, and three bad files."""
    directory = root / "var" / "challengers"
    directory.mkdir(parents=True)
    flat = champion_doc(root)
    flat["id"] = "flat-challenger"
    flat["signal"] = {"const": 0.0}
    twin = champion_doc(root)
    twin["id"] = "champion-copy"
    (directory / challenger_name(0, "flat-challenger")).write_text(json.dumps(flat))
    (directory / challenger_name(0, "champion-copy")).write_text(json.dumps(twin))
    (directory / challenger_name(1, "malformed")).write_text('{"format": "asn-strategy", "id": ')
    partial = json.dumps(champion_doc(root, "ethusdt"))
    (directory / challenger_name(1, "partial")).write_text(partial[: len(partial) // 3])
    (directory / challenger_name(2, "oversized")).write_text(" " * 5000 + json.dumps(flat))
    return directory


def kinds(events: list[Event], kind: type[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


async def test_a_better_challenger_is_promoted_live_and_bad_files_are_rejected(
    tmp_path: Path,
) -> None:
    path = make_config(tmp_path, max_file_bytes="4096", **PROMOTION)
    write_challengers(tmp_path)
    async with running(path) as (daemon, venue):
        assert daemon.core is not None
        state = daemon.core.state
        slot = state.slots[0]
        journal = daemon.core.journal
        await until(
            daemon,
            lambda: slot.strategy is not None and slot.strategy.document.id != "champion-btcusdt",
        )
        assert slot.strategy is not None
        assert slot.strategy.document.id == "flat-challenger"
        swapped_at = journal.next_seq
        placed = len(venue.placed)
        await until(daemon, lambda: len(venue.placed) > placed + 2)  # trading goes on
        done = await asnctl(path, "challengers", "--json")
        assert done.returncode == 0, done.stderr
        rows = {Path(str(r["challenger"])).name: r for r in json.loads(done.stdout)}
        listing = await asnctl(path, "challengers")
        assert listing.returncode == 0, listing.stderr
        assert b"PROMOTED" in listing.stdout.upper()
        assert b"CHAMPION_TTT_S" in listing.stdout
        assert journal.next_seq > swapped_at
    events = journal_events(daemon.config)
    promotion = kinds(events, Promotion)
    assert len(promotion) == 1
    assert isinstance(promotion[0], Promotion)
    assert promotion[0].challenger_id == "flat-challenger"
    assert promotion[0].champion_id == "champion-btcusdt"
    assert promotion[0].p_value <= 0.2
    swaps = [e for e in kinds(events, Swap) if isinstance(e, Swap)]
    assert [(s.slot, s.new_strategy_id, s.cause) for s in swaps] == [
        (0, "flat-challenger", "promotion")
    ]
    assert any(isinstance(e, StrategyLoaded) and e.strategy_id == "flat-challenger" for e in events)
    # The standings: promoted, the champion's copy still shadowing (ties only), rejections.
    assert rows["flat-challenger"]["status"] == "promoted"
    assert {"challenger_ttt_s", "champion_ttt_s"} <= rows["flat-challenger"].keys()
    assert rows["champion-copy"]["status"] == "shadowing"
    reasons = {Path(e.source).name: e.reason for e in events if isinstance(e, ChallengerRejected)}
    assert "invalid strategy" in reasons[challenger_name(1, "malformed")]
    assert "invalid strategy" in reasons[challenger_name(1, "partial")]
    assert "limit is 4096" in reasons[challenger_name(2, "oversized")]
    for name, reason in reasons.items():
        assert rows[name]["status"] == "rejected"
        assert rows[name]["reason"] == reason
    loaded = {e.strategy_id for e in events if isinstance(e, ChallengerLoaded)}
    assert loaded == {"flat-challenger", "champion-copy"}
    # Deterministic given the journal: folding it again makes the same promotion and swap.
    state = DaemonState(core_config(daemon.config))
    pit = PitLane(PromotionRule(4, 1, 0.2), daemon.config.promotion.swap_mode)
    remade: list[Event] = []
    for event in events:
        state.apply(event)
        remade += pit.apply(event, state)
    assert [encode(e) for e in remade if isinstance(e, Promotion | Swap)] == [
        encode(msgspec.structs.replace(e, seq=0)) for e in events if isinstance(e, Promotion | Swap)
    ]
    # A swap in the middle of trading lost no order and no fill.
    sent = {e.link_id for e in events if isinstance(e, OrderSent)}
    answered = {
        e.link_id for e in events if isinstance(e, OrderAccepted | OrderRejected | OrderReconciled)
    }
    assert sent <= answered
    _orders, positions = await venue.reconcile([s.symbol for s in daemon.config.slots])
    folded = fold(daemon.config, events)
    assert folded.slots[0].strategy is not None
    assert folded.slots[0].strategy.document.id == "flat-challenger"
    for position in positions:
        ours = sum(
            s.ledger.position_lots for s in folded.slots
            if s.symbol == position.symbol and s.ledger is not None
        )  # fmt: skip
        assert ours == position.position_lots, f"{position.symbol}: a fill was lost"


def test_a_restart_after_a_promotion_keeps_the_new_champion(tmp_path: Path) -> None:
    path = make_config(tmp_path, **PROMOTION)
    write_challengers(tmp_path)
    config = load_config(path)
    daemon = DaemonProcess(path)
    try:
        daemon.start()
        daemon.wait_notify("READY=1")
        wait_for(config, lambda e: isinstance(e, Promotion), timeout=60)
        assert daemon.terminate() == 0
        daemon.start()
        daemon.wait_notify("READY=1")
        slots = daemon.status()["slots"]
        assert slots[0]["strategy_id"] == "flat-challenger"
        # The promoted file is still in the directory: seen again, it is the champion now.
        seen_again = wait_for(
            config,
            lambda e: isinstance(e, ChallengerRejected) and "already the champion" in e.reason,
        )
        assert isinstance(seen_again, ChallengerRejected)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    events = journal_events(config)
    assert len(kinds(events, Promotion)) == 1, "no second promotion of the same challenger"
