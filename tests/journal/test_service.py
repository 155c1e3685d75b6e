"""Group commit from trio: concurrent appends share batches; a durable append returns only
once on disk; shutdown flushes; a failed disk stops the service and every waiter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio
import trio.testing

from journal.errors import JournalWriteError
from journal.reader import JournalReader
from journal.service import JournalService
from journal.writer import JournalWriter

from .helpers import delta, trade


async def test_durable_appends_are_group_committed(tmp_path: Path) -> None:
    writer = JournalWriter.open(tmp_path)
    service = JournalService(writer, max_batch_delay_s=0.05)
    acked: list[int] = []

    async def producer(k: int) -> None:
        for i in range(20):
            await service.append(delta(i))
            stamped = await service.append_durable(trade(k * 100 + i))
            # Durable means a fresh reader (another file handle) already sees it.
            assert stamped.seq <= max(e.seq for e in JournalReader(tmp_path).events())
            acked.append(stamped.seq)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            async with trio.open_nursery() as producers:
                for k in range(10):
                    producers.start_soon(producer, k)
            nursery.cancel_scope.cancel()
    writer.close()
    assert len(acked) == 200
    assert service.batches < 200, "concurrent durable appends share fsyncs"
    seqs = [e.seq for e in JournalReader(tmp_path).events()]
    assert seqs == list(range(1, 401))


async def test_market_data_rides_the_next_batch_within_the_delay(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    writer = JournalWriter.open(tmp_path)
    service = JournalService(writer, max_batch_delay_s=0.2)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.append(delta(0))
        assert writer.durable_seq == 0, "not forced to disk on its own"
        await trio.sleep(0.19)
        await trio.testing.wait_all_tasks_blocked()
        assert writer.durable_seq == 0, "still within the batch delay"
        assert writer.pending_bytes > 0
        await trio.sleep(0.02)
        await trio.testing.wait_all_tasks_blocked()
        assert writer.pending_bytes == 0, "the flusher took the batch on its own at 0.2 s"
        await service.wait_durable(1)
        nursery.cancel_scope.cancel()
    writer.close()


async def test_shutdown_flushes_what_was_appended(tmp_path: Path) -> None:
    writer = JournalWriter.open(tmp_path)
    service = JournalService(writer, max_batch_delay_s=3600)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        for i in range(5):
            await service.append(delta(i))
        nursery.cancel_scope.cancel()
    assert writer.durable_seq == 5
    writer.close()
    assert len(list(JournalReader(tmp_path).events())) == 5


async def test_backpressure_waits_instead_of_dropping(tmp_path: Path) -> None:
    writer = JournalWriter.open(tmp_path)
    service = JournalService(writer, max_batch_delay_s=3600, max_pending_bytes=2048)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        with trio.fail_after(10):
            for i in range(500):
                await service.append(delta(i))
        assert service.batches > 10, "the backlog limit forced commits"
        nursery.cancel_scope.cancel()
    writer.close()
    assert len(list(JournalReader(tmp_path).events())) == 500


async def test_write_failure_stops_the_service_and_waiters(tmp_path: Path) -> None:
    writer = JournalWriter.open(tmp_path)
    service = JournalService(writer)
    # A real OS failure: the segment's descriptor now refers to a read-only file.
    ro = os.open(os.devnull, os.O_RDONLY)
    os.dup2(ro, writer._fd)
    os.close(ro)
    with (
        trio.fail_after(10),
        pytest.RaisesGroup(JournalWriteError, JournalWriteError, flatten_subgroups=True),
    ):
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await service.append_durable(trade(1))
    with pytest.raises(JournalWriteError, match="trading must halt"):
        await service.append(trade(2))
    writer._release()
