"""Fill calibration: our live orders re-simulated against the journal's own market data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asnd.config import load_config
from asnd.daemon import main
from journal.events import Event, Fill, OrderIntent, RiskVerdict


def test_calibration_compares_the_venue_fills_with_the_replay_fills(
    live_journal: tuple[Path, list[Event]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, events = live_journal
    journal = str(load_config(path).journal.directory)
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["backtest", "--calibrate", journal, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fill_rate" in printed
    assert "replay - venue" in printed
    text = (outs[0] / "calibration.json").read_text()
    assert text == (outs[1] / "calibration.json").read_text(), "seeded: the same report twice"
    report = json.loads(text)
    # The printed table (journal.texttable, plain when piped) carries the report's values.
    row = next(line.split() for line in printed.splitlines() if line.startswith("fill_rate "))
    expected = [str(report[k]["fill_rate"]) for k in ("venue", "replay")]
    assert row == ["fill_rate", *expected, str(report["gap"]["fill_rate"])]
    intents = {e.seq: e for e in events if isinstance(e, OrderIntent)}
    sent = [intents[v.intent_seq] for v in events
            if isinstance(v, RiskVerdict) and v.approved and v.intent_seq in intents]  # fmt: skip
    venue = report["venue"]
    assert venue["orders"] == report["replay"]["orders"] == len(sent)
    ours = {i.link_id for i in sent}
    filled = [f for f in events if isinstance(f, Fill) and f.link_id in ours]
    assert venue["filled_lots"] == sum(f.qty_lots for f in filled) > 0
    assert venue["filled_orders"] == len({f.link_id for f in filled})
    gap = report["replay"]["fill_rate"] - venue["fill_rate"]
    assert report["gap"]["fill_rate"] == pytest.approx(gap, abs=2e-4)
    assert report["latency"].startswith("sampled from")
    assert report["verdict"].startswith(f"the replay filled {report['replay']['filled_orders']} of")
