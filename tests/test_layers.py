"""The layer map of ARCHITECTURE.md, enforced: ``journal`` <- ``asnd.core`` <- ``asnd.venues`` /
``asnd.actors`` <- entry points; ``evolution`` uses ``journal`` and ``asnd.core`` only (and
reads the daemon's config file through ``asnd.config``), never trio, venues or actors.

The checker reads every ``import`` in the source (function-level and ``TYPE_CHECKING`` ones
included: a lazy import is still a dependency) and compares each edge with the rules below.
It is shown to fail on deliberately wrong imports in a synthetic tree, and to pass on this
one; a subprocess also checks what importing all of evolution actually loads.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("journal", "asnd", "evolution")

#: The modules above asnd.venues/asnd.actors: the entry points and what only they assemble.
ENTRY_POINTS = ("asnd.daemon", "asnd.ctl", "asnd.backtest", "asnd.runtime", "asnd.metrics")
TRIO = ("trio", "trio_websocket")


@dataclass(frozen=True)
class Rule:
    """Modules under ``layer`` may import from our packages only what ``allowed`` lists (by
    prefix), and never anything ``forbidden`` lists (ours or third party)."""

    layer: str
    allowed: tuple[str, ...] | None  # None: any of our modules not forbidden
    forbidden: tuple[str, ...] = ()
    why: str = ""


RULES = (
    Rule("journal", ("journal",), why="the event store stands alone"),
    Rule(
        "asnd.core",
        ("journal", "asnd.core"),
        TRIO,
        "the core is pure: journal below it, no trio, no runtime",
    ),
    Rule("asnd.venues", None, (*ENTRY_POINTS, "evolution"), "venues sit below entry points"),
    Rule("asnd.actors", None, (*ENTRY_POINTS, "evolution"), "actors sit below entry points"),
    Rule(
        "evolution",
        ("journal", "asnd.core", "evolution", "asnd.config"),
        TRIO,
        "evolution is offline: journal and core (and the config file's reader), never the "
        "daemon runtime or trio",
    ),
)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def layer_violations(root: Path) -> list[str]:
    """Every import under ``root`` that breaks a rule: ``file:line: a imports b (why)``."""
    problems = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = _module_name(root, path)
            # The asnd package's own __init__ re-exports the version (from journal): it is
            # part of every asnd.* import, so it counts as the core's level.
            rules = [r for r in RULES if _under(module, r.layer)]
            for line, name in _imports(path, module):
                ours = name.split(".")[0] in PACKAGES
                for rule in rules:
                    bad = any(_under(name, f) for f in rule.forbidden)
                    if ours and rule.allowed is not None and name != "asnd":
                        bad = bad or not any(_under(name, a) for a in rule.allowed)
                    if bad:
                        where = path.relative_to(root)
                        problems.append(f"{where}:{line}: {module} imports {name} ({rule.why})")
    return problems


def test_this_tree_keeps_the_layer_map() -> None:
    assert layer_violations(REPO) == []


def _write(root: Path, module: str, source: str) -> None:
    path = root.joinpath(*module.split(".")) / "__init__.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


def test_the_checker_finds_each_wrong_import(tmp_path: Path) -> None:
    """A synthetic tree with one good and one bad edge per rule: only the bad ones reported."""
    good = {
        "journal": "import msgspec\n",
        "asnd": "from journal import codec\n",
        "asnd.core": "from journal import events\nfrom asnd import __version__\n",
        "asnd.venues": "import trio\nfrom asnd.core import book\n",
        "asnd.actors": "from asnd.venues import sim\nfrom asnd.config import Config\n",
        "asnd.runtime": "from asnd.actors import core\n",
        "evolution": "from asnd.core.agent_market import AgentMarket\nimport numpy\n",
    }
    bad = {
        "journal.bad": "from asnd.core import book\n",
        "asnd.core.bad": "import trio\n",
        "asnd.core.bad2": "def f():\n    from asnd.venues.sim import SimVenue\n",
        "asnd.venues.bad": "from asnd.runtime import Daemon\n",
        "asnd.actors.bad": "from . import x\nfrom ...daemon import main\n",
        "evolution.bad": "from asnd.venues.sim import SimVenue\n",
        "evolution.bad2": "import trio.lowlevel\n",
    }
    for module, source in {**good, **bad}.items():
        _write(tmp_path, module, source)
    found = layer_violations(tmp_path)
    assert len(found) == len(bad), found
    offenders = sorted(line.split(": ")[1].split(" imports ")[0] for line in found)
    assert offenders == sorted(bad)
    assert any("asnd.actors.bad imports asnd.daemon" in line for line in found), found
    assert all(line.split(":")[0].endswith("__init__.py") for line in found)


@pytest.mark.parametrize("forbidden", ["trio", "asnd.venues", "asnd.actors", "asnd.runtime"])
def test_the_checker_refuses_evolution_importing(tmp_path: Path, forbidden: str) -> None:
    _write(tmp_path, "evolution.search", f"import {forbidden}\n")
    (found,) = layer_violations(tmp_path)
    assert f"evolution.search imports {forbidden}" in found


def test_importing_all_of_evolution_loads_no_trio_venue_or_actor() -> None:
    """What the static check implies, measured: every evolution module imported in a fresh
    interpreter leaves trio, asnd.venues and asnd.actors unloaded."""
    modules = sorted(
        _module_name(REPO, p) for p in (REPO / "evolution").rglob("*.py") if p.name != "cli.py"
    )
    modules.append("evolution.cli")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('trio', 'trio_websocket')"
        " or m.startswith(('asnd.venues', 'asnd.actors', 'asnd.runtime')))\n"
        "print(len(sys.modules), bad)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    loaded, bad = proc.stdout.split(" ", 1)
    assert int(loaded) > 100, "the modules were imported"
    assert bad.strip() == "[]"
