"""README.md's command blocks, run as written, so the README cannot drift from the code.

Every ```sh and ```console block is run, in README order, in one scratch checkout (a copy of
``etc/`` and ``systemd/``, ``.venv`` pointing at this interpreter's environment, and the real
market data at ``../shared/data``), with this interpreter's scripts first on ``PATH``:

- ```sh: every line is a command (``\\`` continues it) that must exit 0;
- ```console: ``$ `` lines are commands, the lines after one are output that must appear
  (``...`` skips); ``# exit N`` on a command or its output says the exit status it expects;
- commands that run until stopped (``asnd run``, ``--follow``, ``asn-evolve run``) are
  started, checked (still running, or the progress line printed) and stopped;
- ``<!-- run-with: COMMAND -->`` before a block starts COMMAND (the daemon ``make run``
  starts) until it logs ``trading``, runs the block against it, then stops it (exit 0);
- ``<!-- not-run: REASON -->`` before a block skips it (it needs keys, root or a network, or
  is the test suite itself); the reason is required.

It is longer than a unit test because it starts the real commands: a daemon start and stop,
an import, four backtests of the shared XRPUSDT archive and two evolution starts, about 25 s
of CPU (72-84 s wall on the shared, loaded 2-core machine); each command has its own timeout.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
RUN_LANGS = ("sh", "console")
_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*(not-run|run-with)\s*:\s*(.*?)\s*-->\s*$")
_EXIT = re.compile(r"#\s*exit\s+(\d+)\b")
COMMAND_TIMEOUT_S = 180.0
#: System tools a command may need that a machine may lack: such a command is skipped there
#: (reported in the test's output), never the rest of the README.
OPTIONAL_TOOLS = ("systemd-analyze",)


@dataclass
class Command:
    line: int  # 1-based line in README.md
    text: str
    exit: int = 0
    output: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int
    lang: str
    marker: tuple[str, str] | None
    commands: list[Command]


#: Commands that do not end by themselves: (pattern, what shows they started, seconds to wait).
#: ``None``: still running after that long is the check.
LONG_RUNNING: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, float], ...] = (
    (re.compile(r"\basnd run\b"), re.compile(r"\btrading\b"), 120.0),
    (re.compile(r"--follow\b"), None, 1.5),
    (re.compile(r"\basn-evolve run\b"), re.compile(r"\bslot \d+\b"), 120.0),
)


def _join_continuations(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in lines:
        start, text = number, raw
        if pending is not None:
            start, text = pending[0], pending[1] + " " + raw.strip()
            pending = None
        if text.rstrip().endswith("\\"):
            pending = (start, text.rstrip()[:-1].rstrip())
        else:
            out.append((start, text))
    if pending is not None:
        out.append(pending)
    return out


def _commands(lang: str, body: list[tuple[int, str]]) -> list[Command]:
    console = lang == "console" or any(text.startswith("$ ") for _, text in body)
    commands: list[Command] = []
    if not console:
        for number, text in _join_continuations(body):
            if text.strip() and not text.lstrip().startswith("#"):
                commands.append(Command(number, text.strip()))
        return commands
    continuing = False  # the previous prompt line ended with a backslash
    for number, text in body:
        if text.startswith("$ ") or continuing:
            line = text[2:] if text.startswith("$ ") and not continuing else text
            if continuing:
                commands[-1].text += " " + line.strip()
            else:
                commands.append(Command(number, line.strip()))
            continuing = commands[-1].text.endswith("\\")
            if continuing:
                commands[-1].text = commands[-1].text[:-1].rstrip()
        elif commands and text.strip():
            commands[-1].output.append(text)
    for command in commands:
        for text in (command.text, *command.output):
            found = _EXIT.search(text)
            if found:
                command.exit = int(found.group(1))
    return commands


def readme_blocks(text: str) -> list[Block]:
    """The ```sh/```console blocks of a README, with the marker line just before each."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start, lang = i, fence.group(1)
        i += 1
        body: list[tuple[int, str]] = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1
        if lang not in RUN_LANGS:
            continue
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marked = _MARKER.match(before.strip())
        marker = (marked.group(1), marked.group(2)) if marked else None
        blocks.append(Block(start + 1, lang, marker, _commands(lang, body)))
    return blocks


def _strip_comment(text: str) -> str:
    return re.sub(r"\s+#.*$", "", text).rstrip()


class Checkout:
    """The scratch checkout the README's commands run in."""

    def __init__(self, root: Path, shared_data: Path) -> None:
        self.dir = root / "checkout"
        self.dir.mkdir()
        for folder in ("etc", "systemd"):
            shutil.copytree(REPO / folder, self.dir / folder)
        (self.dir / ".venv").symlink_to(sys.prefix, target_is_directory=True)
        (root / "shared").mkdir()
        (root / "shared" / "data").symlink_to(shared_data, target_is_directory=True)
        scripts = sysconfig.get_path("scripts")
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
            "NO_COLOR": "1",
        }
        self.log = root / "logs"
        self.log.mkdir()
        self._n = 0

    def start(self, text: str) -> tuple[subprocess.Popen[bytes], Path]:
        self._n += 1
        out = self.log / f"{self._n}.log"
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {text}"],
                cwd=self.dir,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return proc, out

    def run(self, command: Command) -> None:
        where = f"README.md:{command.line}: {command.text}"
        tool = command.text.split()[0]
        if tool in OPTIONAL_TOOLS and shutil.which(tool) is None:
            print(f"{where}: skipped, {tool} is not installed")
            return
        if any(p.search(command.text) for p, _, _ in LONG_RUNNING):
            self.start_check_stop(command, where)
            return
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command.text],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        said = proc.stdout + proc.stderr
        assert proc.returncode == command.exit, f"{where}: exit {proc.returncode}\n{said}"
        assert "Traceback" not in said, f"{where}\n{said}"
        printed = [line.rstrip() for line in said.splitlines()]
        for expected in command.output:
            line = _strip_comment(expected)
            if line and line != "...":
                assert line in printed, f"{where}: expected the line {line!r}, got\n{said}"

    def start_check_stop(self, command: Command, where: str) -> None:
        ready, wait_s = next((r, s) for p, r, s in LONG_RUNNING if p.search(command.text))
        proc, out = self.start(command.text)
        try:
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                if ready is not None and ready.search(out.read_text(errors="replace")):
                    break
                time.sleep(0.1)  # polling a log file for a line, not ordering tasks
            said = out.read_text(errors="replace")
            if proc.poll() is not None:
                assert proc.returncode == 0, f"{where}: exit {proc.returncode}\n{said}"
            elif ready is not None:
                assert ready.search(said), f"{where}: not started in {wait_s} s\n{said}"
            assert "Traceback" not in said, f"{where}\n{said}"
        finally:
            _stop(proc)

    def run_with(self, background: str, block: Block) -> None:
        where = f"README.md:{block.line}: run-with {background}"
        proc, out = self.start(background)
        try:
            deadline = time.monotonic() + COMMAND_TIMEOUT_S
            while not re.search(r"\btrading\b", out.read_text(errors="replace")):
                assert proc.poll() is None, f"{where}: exited\n{out.read_text()}"
                assert time.monotonic() < deadline, f"{where}: not trading\n{out.read_text()}"
                time.sleep(0.1)  # polling a log file for a line, not ordering tasks
            for command in block.commands:
                self.run(command)
        finally:
            code = _stop(proc)
        assert code == 0, f"{where}: stopped with exit {code}\n{out.read_text()}"


def _stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGINT (Ctrl-C: a clean stop), then SIGKILL the whole group if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # workers it may have left
    return proc.returncode


def test_the_parser_reads_blocks_markers_and_expectations() -> None:
    text = "\n".join(
        [
            "```sh",
            "make thing   # comment",
            "# only a comment",
            "tool a \\",
            "    --flag b",
            "```",
            "<!-- not-run: needs Bybit keys -->",
            "",
            "```console",
            "$ tool check bad.toml",
            "tool: invalid   # exit 2",
            "$ tool ok",
            "```",
            "```text",
            "$ not run",
            "```",
            "<!-- run-with: asnd run --config x.toml -->",
            "```sh",
            "asnctl status",
            "```",
        ]
    )
    first, second, third = readme_blocks(text)
    assert [c.text for c in first.commands] == ["make thing   # comment", "tool a --flag b"]
    assert [c.line for c in first.commands] == [2, 4]
    assert first.marker is None
    assert second.marker == ("not-run", "needs Bybit keys")
    assert [(c.text, c.exit, c.output) for c in second.commands] == [
        ("tool check bad.toml", 2, ["tool: invalid   # exit 2"]),
        ("tool ok", 0, []),
    ]
    assert third.marker == ("run-with", "asnd run --config x.toml")


def test_every_block_is_run_or_says_why_not() -> None:
    blocks = readme_blocks(README.read_text())
    skipped = [b for b in blocks if b.marker and b.marker[0] == "not-run"]
    assert all(b.marker and b.marker[1] for b in skipped), "a not-run marker needs a reason"
    assert len(blocks) - len(skipped) >= 5, "most examples run"
    assert all(b.commands for b in blocks), [b.line for b in blocks if not b.commands]


def test_readme_command_blocks_run_as_written(tmp_path: Path, shared_data: Path) -> None:
    checkout = Checkout(tmp_path, shared_data)
    ran = 0
    for block in readme_blocks(README.read_text()):
        started = time.monotonic()
        if block.marker is None:
            for command in block.commands:
                checkout.run(command)
        elif block.marker[0] == "run-with":
            checkout.run_with(block.marker[1], block)
        else:
            continue
        ran += len(block.commands)
        print(f"README.md:{block.line}: {time.monotonic() - started:.1f} s")  # -s shows it
    assert ran >= 15
