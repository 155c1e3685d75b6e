"""The assembled daemon draws its journal's link-id namespace once, when the journal is new:
every order id it makes carries it, and a restart on the same journal keeps it."""

from __future__ import annotations

from pathlib import Path

from asnd.core.link_id import parse_link_id
from asnd.foreign import namespace_for
from asnd.recovery import restore_state
from asnd.runtime import core_config
from journal.events import LinkNamespace, OrderIntent

from .harness import journal_events, make_config
from .test_daemon_live import running, until


async def test_namespace_drawn_once_used_by_every_order_and_kept_on_restart(
    tmp_path: Path,
) -> None:
    path = make_config(tmp_path)
    async with running(path) as (daemon, venue):
        assert daemon.core is not None
        live = daemon.core.state.link_namespace
        await until(daemon, lambda: bool(venue.placed))
    events = journal_events(daemon.config)
    (drawn,) = [e for e in events if isinstance(e, LinkNamespace)]
    assert live == drawn.namespace
    intents = [e for e in events if isinstance(e, OrderIntent)]
    assert intents
    for intent in intents:
        parsed = parse_link_id(intent.link_id)
        assert parsed is not None
        assert parsed.namespace == drawn.namespace
        assert parsed.slot == intent.slot
    # What the next start-up recovers from this journal: the namespace, not a new draw.
    restored = restore_state(core_config(daemon.config), daemon.config.journal.directory)
    assert restored.state.link_namespace == drawn.namespace
    assert namespace_for(restored.state, bytes, 0) is None
