"""SIGKILL a real tool at random moments of its work, for "nothing partial is left" tests.

The moment is drawn after the tool has visibly started writing (a new entry, hidden or not,
appears in the output's parent) and within how long a whole run takes to finish from there,
so kills land across the writing, the publishing and (sometimes) after the end.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Generous: the machine is shared and loaded.
TIMEOUT_S = 120.0


def hidden_entries(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _entries(parent: Path) -> set[str]:
    return {p.name for p in parent.iterdir()}


def _wait_until_writing(proc: subprocess.Popen[bytes], parent: Path, before: set[str]) -> float:
    """The monotonic time a new entry appeared in ``parent`` (or the tool ended)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if _entries(parent) - before or proc.poll() is not None:
            return time.monotonic()
        time.sleep(0.002)  # polling another process's files; the deadline bounds it
    proc.kill()
    raise TimeoutError(f"{proc.args!r} wrote nothing in {TIMEOUT_S} s")


@dataclass
class KillRounds:
    """Runs ``command(out)`` and kills it at a random moment, reproducibly (``seed``)."""

    parent: Path
    env: dict[str, str]
    seed: int = 14

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.writing_s = 0.0

    def measure(self, command: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
        """One whole run; remembers how long it writes, to spread later kills over that."""
        before = _entries(self.parent)
        proc = subprocess.Popen(command, env=self.env, stderr=subprocess.PIPE)
        started = _wait_until_writing(proc, self.parent, before)
        _, stderr = proc.communicate(timeout=TIMEOUT_S)
        self.writing_s = time.monotonic() - started
        return subprocess.CompletedProcess(command, proc.returncode, b"", stderr)

    def kill_once(self, command: Sequence[str]) -> bool:
        """Start ``command``, SIGKILL it at a random moment; True if it died of the kill."""
        before = _entries(self.parent)
        proc = subprocess.Popen(command, env=self.env, stderr=subprocess.DEVNULL)
        _wait_until_writing(proc, self.parent, before)
        time.sleep(self._rng.uniform(0, self.writing_s * 1.1))  # the random moment itself
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=TIMEOUT_S) == -signal.SIGKILL
