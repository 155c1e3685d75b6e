"""``journal.decimals``: ``Scale.count``'s fast path decides exactly as the general one, and
``FinestStep`` infers the grid values are on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journal.decimals import FinestStep, OffGridError, Scale, finest_step, to_units

_digits = st.text("0123456789", min_size=0, max_size=8)
_texts = st.one_of(
    st.builds(
        lambda w, f: f"{w}.{f}" if f else w, st.text("0123456789", min_size=1, max_size=7), _digits
    ),
    st.sampled_from(["", ".", ".5", "5.", "-1.5", "1e3", "1_0", "١٢", " 1", "0x1", "1.2.3"]),
)
_steps = st.sampled_from(["1", "0.1", "0.01", "0.5", "0.25", "0.001", "5", "0.00000001", "10"])


def _exactly(step: str, text: str) -> int | type[Exception]:
    """The definition: both as integers of the finer decimal grid, then divide."""
    try:
        d = max(len(step.partition(".")[2]), len(text.partition(".")[2]))
        units, unit = to_units(text, d), to_units(step, d)
    except ValueError:
        return ValueError
    steps, rest = divmod(units, unit)
    return OffGridError if rest else steps


@given(_steps, _texts)
def test_count_agrees_with_the_definition(step: str, text: str) -> None:
    want = _exactly(step, text)
    try:
        got: int | type[Exception] = Scale(step).count(text)
    except OffGridError:
        got = OffGridError
    except ValueError:
        got = ValueError
    assert got == want


def test_count_examples() -> None:
    assert Scale("0.01").count("61737.63000000") == 6173763
    assert Scale("0.5").count("61800.50") == 123601
    assert Scale("1").count("1001") == 1001
    with pytest.raises(OffGridError):
        Scale("0.1").count("61800.25")
    with pytest.raises(ValueError, match="not a plain decimal"):
        Scale("0.1").count("1e3")
    with pytest.raises(ValueError, match="must be positive"):
        Scale("0").count("1")


@given(st.lists(_texts.filter(lambda t: t.replace(".", "", 1).isdigit()), max_size=30))
def test_observe_many_is_observe_each(values: list[str]) -> None:
    one, many = FinestStep(), FinestStep()
    for v in values:
        one.observe(v)
    many.observe_many(values[: len(values) // 2])
    many.observe_many(values)  # seen values skipped, the result the same
    assert one.step == many.step == finest_step(values)


def test_trailing_zeros_do_not_make_a_finer_step() -> None:
    assert finest_step(["61737.63000000", "61737.60000000", "0.00001000"]) == "0.00001"
    assert finest_step(["1001", "5.0"]) == "1"
    assert finest_step([]) == "1"
