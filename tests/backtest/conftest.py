"""The live journal the parity and calibration tests share: the real daemon, in-process on the
sim venue, trading until two slots have fills (about a second)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from asnd.config import load_config
from journal.events import Event

from ..daemon.harness import journal_events, make_config
from ..daemon.test_daemon_live import running, until


@pytest.fixture(scope="module")
def live_journal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Event]]:
    """A config and the journal the daemon wrote trading on it until two slots have filled."""
    path = make_config(tmp_path_factory.mktemp("live"))

    async def trade() -> None:
        async with running(path) as (daemon, _venue):
            assert daemon.core is not None
            slots = daemon.core.state.slots
            await until(
                daemon,
                lambda: (
                    sum(1 for s in slots if s.ledger is not None and s.ledger.state.fill_count) >= 2
                ),
            )

    trio.run(trade)
    return path, journal_events(load_config(path))
