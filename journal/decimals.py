"""Exact conversion between the venue's decimal strings and integer ticks/lots.

Venues speak decimal strings ("1.9537"); ASN's core speaks integers ("19537 ticks of
0.0001"). Conversion is exact or it fails: a price that is not on the tick grid raises
``OffGridError`` instead of being rounded silently.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OffGridError", "Scale", "decimals_of", "to_units", "units_to_str"]


class OffGridError(ValueError):
    """A decimal string is not a whole multiple of the step it is converted with."""


def decimals_of(text: str) -> int:
    """Number of digits after the decimal point of a plain decimal string ("1.50" -> 2)."""
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


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

    @property
    def decimals(self) -> int:
        return decimals_of(self.step)

    @property
    def step_units(self) -> int:
        return to_units(self.step, self.decimals)

    def count(self, text: str) -> int:
        d = max(self.decimals, decimals_of(text))
        units = to_units(text, d)
        step = to_units(self.step, d)
        if step <= 0:
            raise ValueError(f"step {self.step!r} must be positive")
        steps, rest = divmod(units, step)
        if rest:
            raise OffGridError(f"{text!r} is not a multiple of {self.step!r}")
        return steps

    def text(self, steps: int) -> str:
        return units_to_str(steps * self.step_units, self.decimals)
