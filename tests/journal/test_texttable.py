"""The one table renderer (journal.texttable): plain, greppable text off a terminal, numeric
columns right-aligned, column order as given, cells never read as rich markup."""

from __future__ import annotations

import re

import pytest

from journal.texttable import looks_numeric, render_table

ANSI = re.compile(r"\x1b\[")
BOX = re.compile(r"[\u2500-\u257f]")  # box-drawing characters


def test_plain_output_is_columns_two_spaces_apart_numbers_right_aligned() -> None:
    text = render_table(
        ["SLOT", "SYMBOL", "PNL"], [[0, "BTCUSDT", "+1.25"], [12, "ETHUSDT", None]], tty=False
    )
    assert text.splitlines() == [
        "SLOT  SYMBOL     PNL",
        "   0  BTCUSDT  +1.25",
        "  12  ETHUSDT      -",
    ]
    assert not ANSI.search(text)
    assert not BOX.search(text)


def test_columns_keep_their_order_and_a_mixed_column_is_left_aligned() -> None:
    text = render_table(["z", "a", "m"], [["x", "1", "2"], ["yy", "n/a", "3"]], tty=False)
    assert text.splitlines() == ["z   a    m", "x   1    2", "yy  n/a  3"]


def test_cells_are_data_not_markup_and_long_rows_are_not_wrapped() -> None:
    long = "x" * 500
    text = render_table(["A", "B"], [["[bold]y[/bold]", long]], tty=False)
    assert text.splitlines()[1] == f"[bold]y[/bold]  {long}"


def test_terminal_output_has_a_header_rule_and_the_same_cells() -> None:
    text = render_table(["SLOT", "SYMBOL"], [[3, "BTCUSDT"]], tty=True)
    plain = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", text))
    assert BOX.search(plain)
    assert plain.split()[:2] == ["SLOT", "SYMBOL"]
    assert "BTCUSDT" in plain


def test_no_rows_prints_the_headers_and_a_short_row_is_refused() -> None:
    assert render_table(["A", "B"], [], tty=False) == "A  B"
    with pytest.raises(ValueError, match="1 cells for 2 headers"):
        render_table(["A", "B"], [["only"]], tty=False)


@pytest.mark.parametrize(
    ("text", "numeric"),
    [
        ("12", True),
        ("-0.5", True),
        ("+3.000", True),
        ("1e-05", True),
        ("12%", True),
        ("-", True),
        ("nan", True),
        ("BTCUSDT", False),
        ("", False),
        ("1.2.3", False),
    ],
)
def test_looks_numeric(text: str, numeric: bool) -> None:
    assert looks_numeric(text) is numeric


def test_plain_output_ignores_colour_and_width_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe stays plain and unwrapped even where the environment asks rich for colour or a
    narrow terminal (FORCE_COLOR, TTY_COMPATIBLE, COLUMNS set by a CI runner or a shell)."""
    for name, value in (("FORCE_COLOR", "1"), ("TTY_COMPATIBLE", "1"), ("COLUMNS", "10")):
        monkeypatch.setenv(name, value)
    text = render_table(["SYMBOL", "EQUITY"], [["BTCUSDT", "199.83"]], tty=False)
    assert text.splitlines() == ["SYMBOL   EQUITY", "BTCUSDT  199.83"]
