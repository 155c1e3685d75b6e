"""The one table renderer every command line uses (``asnctl``, ``asn-journal``, ``asnd
backtest``, ``asn-evolve``'s report), built on rich.

It lives in ``journal`` because that is the bottom layer: every other package may import it
(tests/test_layers.py). Output rules, the same for every command:

- columns in the order given, headers as given; a column whose every cell looks like a number
  (or is ``-``, "no value") is right-aligned, header included, so digits line up;
- when the output is not a terminal (a pipe, a file, a test), plain text: no colour, no ANSI
  codes, no box-drawing, columns two spaces apart, nothing wrapped or cut, no trailing spaces,
  so ``grep``, ``awk`` and ``split()`` read it;
- on a terminal, a bold header under a rule line, still no colour in the cells.

rich is imported inside ``render_table``: commands that print no table (``asnd check-config``)
do not pay for it.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from typing import Final

__all__ = ["looks_numeric", "render_table"]

#: Wide enough that rich never wraps or truncates a plain-text table (a pipe has no width).
_PLAIN_WIDTH: Final = 100_000


def looks_numeric(text: str) -> bool:
    """``12``, ``-0.5``, ``+3.000``, ``1e-05``, ``nan``, ``12%`` or ``-`` (a missing number)."""
    if text == "-":
        return True
    try:
        float(text.strip().removesuffix("%"))
    except ValueError:
        return False
    return True


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    tty: bool | None = None,
) -> str:
    """``rows`` under ``headers`` as text (no trailing newline). ``None`` cells show as ``-``;
    other cells as ``str(cell)`` (callers format numbers: the table does not round).
    ``tty`` defaults to whether stdout is a terminal."""
    # Imported here so a command that prints no table never loads rich (~50 ms).
    from rich import box  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    if tty is None:
        tty = sys.stdout.isatty()
    cells = [["-" if v is None else str(v) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells for {len(headers)} headers")
    table = Table(
        box=box.SIMPLE_HEAD if tty else None,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if tty else "",
        highlight=False,
    )
    for i, header in enumerate(headers):
        numeric = bool(cells) and all(looks_numeric(r[i]) for r in cells)
        table.add_column(
            Text(header), justify="right" if numeric else "left", no_wrap=not tty, overflow="fold"
        )
    for row in cells:
        # Text, not str: a cell like "[1, 2]" is data, never rich markup.
        table.add_row(*(Text(c) for c in row))
    out = io.StringIO()
    console = Console(
        file=out,
        width=None if tty else _PLAIN_WIDTH,
        force_terminal=tty,
        no_color=not tty,
        color_system="standard" if tty else None,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())
