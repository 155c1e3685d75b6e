"""The one operator table of GP strategies, shared by the daemon and the evolution package.

Each entry names a primitive (the names are the blueprint's, so its files load unchanged), its
arity, its one-line meaning and its ``scalar`` function: the kernel's own
(``asnd.core.kernel.strategy_ops``), which the stack machine calls per row and over columns,
so there is one definition of every operator for every path. Semantics:

- Only IEEE-754 basic operations (+, -, *, /, comparisons), plus ``tanh``, the one
  transcendental, defined once in ``asnd.core.kernel.mathfn`` (fdlibm's algorithm on
  ``expm1``: within an ulp of ``math.tanh``, and the same whether jitted or not).
- ``min``/``max``: NaN if either is NaN, else the smaller (larger), and ``a`` when they are
  equal (which decides only the sign of a zero). Never the builtins, whose NaN handling
  depends on argument order.
- ``protectedDiv`` returns 1.0 wherever the quotient would be a division by zero, an infinity
  or NaN (the blueprint's rule), so a tree never produces an inf from a division.

Other operations may still overflow to inf or produce NaN (``mul(0, inf)``); the decision
mapping treats a non-finite output as "no trade".

Comparisons return 1.0 (true) or 0.0 (false), so they compose with ``ifThenElse``, which takes
its first branch when the condition is non-zero (NaN is non-zero, as in the blueprint).

Evolution builds its primitive set from ``OPERATORS`` (name, arity, ``scalar``), so both sides
agree by construction. Keep the set small: each operator widens the search space.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from asnd.core.kernel import mathfn, strategy_ops

__all__ = ["OPERATORS", "Operator"]


@dataclass(frozen=True, slots=True)
class Operator:
    """A GP primitive: ``scalar`` is the kernel function (callable from Python on floats)."""

    name: str
    arity: int
    scalar: Callable[..., float]
    doc: str


def _table(*ops: Operator) -> Mapping[str, Operator]:
    table = {op.name: op for op in ops}
    arities = {name: int(strategy_ops.ARITY[code]) for name, code in strategy_ops.OPCODES.items()}
    if arities != {name: op.arity for name, op in table.items()}:
        raise RuntimeError("OPERATORS and the kernel's opcodes disagree")
    return MappingProxyType(table)


#: Name -> operator.
OPERATORS: Mapping[str, Operator] = _table(
    Operator("add", 2, strategy_ops.add, "a + b"),
    Operator("sub", 2, strategy_ops.sub, "a - b"),
    Operator("mul", 2, strategy_ops.mul, "a * b"),
    Operator("neg", 1, strategy_ops.neg, "-a"),
    Operator(
        "protectedDiv",
        2,
        strategy_ops.protected_div,
        "a / b, or 1.0 where b == 0 or the quotient is inf or NaN",
    ),
    Operator(
        "ifThenElse",
        3,
        strategy_ops.if_then_else,
        "then if cond != 0 (NaN counts as non-zero) else other",
    ),
    Operator("min", 2, strategy_ops.minimum, "the smaller of a and b; NaN if either is NaN"),
    Operator("max", 2, strategy_ops.maximum, "the larger of a and b; NaN if either is NaN"),
    Operator("abs", 1, strategy_ops.absolute, "|a|"),
    Operator("tanh", 1, mathfn.tanh, "hyperbolic tangent: squashes a into (-1, 1)"),
    Operator("lt", 2, strategy_ops.less, "1.0 if a < b else 0.0 (0.0 when either is NaN)"),
    Operator("gt", 2, strategy_ops.greater, "1.0 if a > b else 0.0 (0.0 when either is NaN)"),
)
