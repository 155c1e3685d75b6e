"""Self-contained HTML pages for the tools' reports (``asnd backtest``, ``asn-evolve``):
captioned tables and PNG plots inlined as base64 data URIs, one small inline style, no
script and nothing fetched, so a page reads offline, mailed or archived, the same forever.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

__all__ = ["html_page", "image", "table"]

_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
p.note { color: #555; font-size: 0.9em; }
"""

_NUMERIC: Final = frozenset("0123456789.-+e")


def _cell(value: object) -> str:
    text = "-" if value is None else str(value)
    numeric = text != "-" and set(text) <= _NUMERIC
    return f'<td class="n">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>"


def table(caption: str, head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table with a caption (its cells escaped; numbers right-aligned)."""
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return (
        f"<table>\n<caption>{html.escape(caption)}</caption>\n"
        f"<thead><tr>{heads}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    )


def image(path: Path, alt: str) -> str:
    """``path`` (a PNG) inline as a data URI."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def html_page(title: str, parts: Iterable[str]) -> str:
    """A whole page: the title, the inline style and ``parts`` in order."""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n" + "\n".join(parts) + "\n</body>\n</html>\n"
    )
