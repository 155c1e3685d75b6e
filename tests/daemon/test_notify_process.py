"""The daemon process and a systemd slow to read its notify socket (issue 14: watchdog pings
filled the queue, ``sendto`` failed with EAGAIN and STOPPING=1 was dropped)."""

from __future__ import annotations

import time
from pathlib import Path

from journal.events import DaemonStopped, Fill

from .harness import DaemonProcess, make_config, wait_for


def test_ready_and_stopping_reach_a_systemd_that_reads_late(tmp_path: Path) -> None:
    daemon = DaemonProcess(make_config(tmp_path), deaf_systemd=True)
    try:
        daemon.start(watchdog_usec=20_000)  # a ping every 10 ms: the unread queue soon fills
        journal = daemon.config.journal.directory
        deadline = time.monotonic() + 60
        while not journal.is_dir() and time.monotonic() < deadline:
            time.sleep(0.01)  # polling for another process's directory; the deadline bounds it
        wait_for(daemon.config, lambda e: isinstance(e, Fill), timeout=60)
        assert daemon.status()["daemon"]["state"] == "trading"  # pinging for a while by now
        assert daemon.proc is not None
        daemon.proc.terminate()  # STOPPING=1 meets the full queue
        # systemd reads again only once the daemon has stopped trading and journaled it.
        wait_for(daemon.config, lambda e: isinstance(e, DaemonStopped), timeout=60)
        daemon.listen()
        daemon.wait_notify("STOPPING=1", timeout=30)
        assert daemon.proc.wait(30) == 0
        assert sum("WATCHDOG=1" in m for m in daemon.messages) >= 5, "the queue had filled"
        ready = [i for i, m in enumerate(daemon.messages) if "READY=1" in m.split("\n")]
        stopping = [i for i, m in enumerate(daemon.messages) if "STOPPING=1" in m.split("\n")]
        assert len(ready) == 1
        assert ready < stopping, "in order"
    finally:
        daemon.close()
