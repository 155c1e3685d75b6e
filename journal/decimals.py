"""Exact conversion between the venue's decimal strings and integer ticks/lots.

Venues speak decimal strings ("1.9537"); ASN's core speaks integers ("19537 ticks of
0.0001"). Conversion is exact or it fails: a price that is not on the tick grid raises
``OffGridError`` instead of being rounded silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "FinestStep",
    "OffGridError",
    "Scale",
    "decimals_of",
    "finest_step",
    "significant_decimals",
    "to_units",
    "units_to_str",
]


class OffGridError(ValueError):
    """A decimal string is not a whole multiple of the step it is converted with."""


def decimals_of(text: str) -> int:
    """Number of digits after the decimal point of a plain decimal string ("1.50" -> 2)."""
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


def significant_decimals(text: str) -> int:
    """Digits after the decimal point that matter ("61737.63000000" -> 2, "5.0" -> 0)."""
    dot = text.find(".")
    return 0 if dot < 0 else len(text[dot + 1 :].rstrip("0"))


def _step_of(decimals: int) -> str:
    return "1" if decimals == 0 else "0." + "0" * (decimals - 1) + "1"


_SEEN_MAX = 1 << 20  # distinct values remembered by ``FinestStep.observe_many``


class FinestStep:
    """The finest decimal step a stream of decimal strings uses, fed one value at a time.

    How tick and lot sizes are inferred when a source does not state them: the finest power
    of ten any value needs. Trailing zeros do not count (Binance spot prints every price with
    eight decimals: "61737.63000000" needs only 0.01), so the inferred grid is the one the
    values are actually on, and a finer value later is a loud ``OffGridError``, never rounded.
    """

    __slots__ = ("_seen", "decimals")

    def __init__(self) -> None:
        self.decimals = 0
        self._seen: set[str] = set()  # values already observed (they repeat a lot)

    def observe(self, text: str) -> None:
        self.decimals = max(self.decimals, significant_decimals(text))

    def observe_many(self, values: Iterable[str]) -> None:
        """``observe`` each value; the ones seen before are skipped in C (set difference),
        which makes a pre-pass over a feed's million price strings cheap."""
        new = set(values) - self._seen  # walks the new values, not the seen ones
        for text in new:
            self.observe(text)
        if len(self._seen) > _SEEN_MAX:
            self._seen.clear()
        self._seen |= new

    @property
    def step(self) -> str:
        return _step_of(self.decimals)


def finest_step(values: Iterable[str]) -> str:
    """``FinestStep`` over ``values`` at once ("1.9537", "1.95" -> "0.0001"; none -> "1")."""
    finder = FinestStep()
    for v in values:
        finder.observe(v)
    return finder.step


def to_units(text: str, decimals: int) -> int:
    """``text`` as an integer count of ``10**-decimals`` ("1.9537", 4 -> 19537). Exact."""
    neg = text.startswith("-")
    body = text[1:] if neg else text
    whole, _, frac = body.partition(".")
    if len(frac) > decimals:
        extra = frac[decimals:]
        if extra.strip("0"):
            raise OffGridError(f"{text!r} has more than {decimals} decimal places")
        frac = frac[:decimals]
    digits = (whole or "0") + frac.ljust(decimals, "0")
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"{text!r} is not a plain decimal number")
    value = int(digits)
    return -value if neg else value


def units_to_str(units: int, decimals: int) -> str:
    """The inverse of ``to_units``: 19537, 4 -> "1.9537"."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


@dataclass(frozen=True, slots=True)
class Scale:
    """An instrument's grid: a step such as tick size "0.0001" or lot size "0.001".

    ``count("1.9537")`` gives the number of steps (19537 ticks); ``text(19537)`` gives back the
    decimal string. Steps that are not powers of ten ("0.5") work too.
    """

    step: str
    # The step as a count of 10**-decimals, computed once: ``count`` runs for every level of
    # every imported message (a million times for a few minutes of a Binance feed).
    _decimals: int = field(init=False, repr=False, compare=False)
    _units: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        decimals = decimals_of(self.step)
        try:
            units = to_units(self.step, decimals)
        except ValueError:
            units = 0  # not a number: ``count`` takes the exact path, which says so
        object.__setattr__(self, "_decimals", decimals)
        object.__setattr__(self, "_units", units)

    @property
    def decimals(self) -> int:
        return self._decimals

    @property
    def step_units(self) -> int:
        return to_units(self.step, self._decimals) if self._units <= 0 else self._units

    def count(self, text: str) -> int:
        # Fast path for the usual plain decimal no finer than the step; anything else (a sign,
        # a finer or off-grid value, junk) takes the general path, which decides exactly.
        d = self._decimals
        whole, _, frac = text.partition(".")
        if len(frac) > d:
            frac = frac.rstrip("0")
        n = len(frac)
        digits = whole + frac + "0" * (d - n)
        if n > d or not whole or not (digits.isascii() and digits.isdigit()) or self._units <= 0:
            return self._count_exactly(text)
        units = int(digits)
        if self._units == 1:
            return units
        steps, rest = divmod(units, self._units)
        if rest:
            raise OffGridError(f"{text!r} is not a multiple of {self.step!r}")
        return steps

    def _count_exactly(self, text: str) -> int:
        d = max(self._decimals, decimals_of(text))
        units = to_units(text, d)
        step = to_units(self.step, d)
        if step <= 0:
            raise ValueError(f"step {self.step!r} must be positive")
        steps, rest = divmod(units, step)
        if rest:
            raise OffGridError(f"{text!r} is not a multiple of {self.step!r}")
        return steps

    def text(self, steps: int) -> str:
        return units_to_str(steps * self.step_units, self._decimals)
