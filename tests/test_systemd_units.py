"""The systemd units: they verify, rate OK or better for security, and say what asnd needs.

``systemd-analyze verify`` insists that ``ExecStart``'s binary exists and is executable. The
units name the installed location (``/opt/asn/bin/asnd``), which a checkout does not have, so
the tests verify a temporary copy whose ``ExecStart`` binary is replaced by a real executable
(this Python); everything else is verified exactly as shipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asnd.alerts.destinations import FILE_TELEGRAM_TOKEN, FILE_WEBHOOK_URL
from asnd.venues.bybit.credentials import FILE_KEY as KEY_CREDENTIAL
from asnd.venues.bybit.credentials import FILE_SECRET as SECRET_CREDENTIAL

REPO = Path(__file__).resolve().parents[1]
UNITS = REPO / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def directives(unit: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) in file order; systemd allows repeated keys, so not a dict."""
    section = ""
    found = []
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def values(unit: Path, key: str) -> list[str]:
    return [value for _, k, value in directives(unit) if k == key]


def runnable_copy(tmp_path: Path) -> Path:
    """The units, with each ExecStart binary replaced by an executable that exists here."""
    folder = tmp_path / "units"
    folder.mkdir()
    for unit in UNITS.iterdir():
        text = re.sub(
            r"^ExecStart=/opt/asn/bin/\S+",
            f"ExecStart={sys.executable}",
            unit.read_text(),
            flags=re.M,
        )
        (folder / unit.name).write_text(text)
    return folder


def test_asnd_unit_declares_what_the_daemon_relies_on() -> None:
    unit = UNITS / "asnd.service"
    assert values(unit, "Type") == ["notify"]
    assert values(unit, "NotifyAccess") == ["main"]
    assert values(unit, "Restart") == ["on-failure"]
    assert int(values(unit, "WatchdogSec")[0]) > 0
    assert int(values(unit, "StartLimitBurst")[0]) > 0
    assert values(unit, "StartLimitIntervalSec")
    for key in ("StateDirectory", "RuntimeDirectory", "ConfigurationDirectory"):
        assert values(unit, key) == ["asnd"]
    credentials = [value.split(":")[0] for value in values(unit, "LoadCredential")]
    assert credentials == [KEY_CREDENTIAL, SECRET_CREDENTIAL, FILE_WEBHOOK_URL, FILE_TELEGRAM_TOKEN]
    assert values(unit, "ExecStart") == ["/opt/asn/bin/asnd run --config /etc/asnd/asnd.toml"]
    assert values(unit, "RestrictAddressFamilies") == ["AF_UNIX AF_INET AF_INET6"]
    # Listening only on the metrics port, the one etc/asnd.toml documents.
    assert values(unit, "SocketBindAllow") == ["tcp:9464"]
    assert values(unit, "SocketBindDeny") == ["any"]
    assert values(unit, "CapabilityBoundingSet") == [""]
    # numba's JIT needs executable memory for the compiled kernel (see the unit's comment).
    assert values(unit, "MemoryDenyWriteExecute") == ["no"]
    assert values(unit, "Environment") == ["NUMBA_CACHE_DIR=%S/asnd/numba-cache"]


def test_timer_starts_the_evolve_service() -> None:
    assert (UNITS / "asn-evolve.service").is_file()
    assert values(UNITS / "asn-evolve.timer", "OnCalendar")
    assert values(UNITS / "asn-evolve.service", "Type") == ["oneshot"]


@needs_analyze
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    assert ANALYZE is not None
    folder = runnable_copy(tmp_path)
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", *sorted(str(p) for p in folder.iterdir())],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def _supports_offline() -> bool:
    if ANALYZE is None:
        return False
    helptext = subprocess.run(
        [ANALYZE, "--help"], capture_output=True, text=True, check=False, timeout=60
    ).stdout
    return "--offline" in helptext


@needs_analyze
@pytest.mark.skipif(not _supports_offline(), reason="systemd-analyze has no --offline (< v250)")
@pytest.mark.parametrize("name", ["asnd.service", "asn-evolve.service"])
def test_security_exposure_is_ok_or_better(tmp_path: Path, name: str) -> None:
    assert ANALYZE is not None
    unit = runnable_copy(tmp_path) / name
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure, rating = float(match[1]), match[2]
    assert rating in {"SAFE", "OK"}, f"{name}: exposure {exposure} {rating}"
    assert exposure < 2.0


# Linux >= 6.3: the kernel refuses, for this process, memory that is or becomes writable and
# executable; the same rule MemoryDenyWriteExecute=yes applies through seccomp.
_PR_SET_MDWE = 65
_MDWE_PROGRAM = f"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({_PR_SET_MDWE}, 1, 0, 0, 0) != 0:
    sys.exit(77)
import socket, ssl, tempfile, pathlib
import numpy, msgspec, structlog, trio, httpx
from asnd.control import serve_control
from asnd.notify import Notifier
from asnd.log import configure_logging
from journal.events import OperatorCommand

configure_logging("json", "info")
numpy.linalg.inv(numpy.eye(4) * 2.0)
ssl.create_default_context()
msgspec.msgpack.decode(msgspec.msgpack.encode(OperatorCommand(0, 1, "status", [], 0)))

async def main():
    folder = pathlib.Path(tempfile.mkdtemp())
    path = folder / "c.sock"

    class Handler:
        async def status(self, command, request):
            return {{"ok": 1}}

    async with trio.open_nursery() as nursery:
        await nursery.start(lambda task_status: serve_control(
            path, Handler(), slot_count=1, task_status=task_status))
        stream = await trio.open_unix_socket(str(path))
        await stream.send_all(b'{{"cmd": "status"}}\\n')
        assert b'"ok": true' in await stream.receive_some()
        await stream.aclose()
        nursery.cancel_scope.cancel()

trio.run(main)
print("no W+X needed")
"""


def test_daemon_stack_runs_without_writable_executable_memory() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _MDWE_PROGRAM],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if result.returncode == 77:
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("no W+X needed")
