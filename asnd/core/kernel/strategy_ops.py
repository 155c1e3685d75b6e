"""The GP operators as scalar kernel functions: the one definition every path calls.

Opcodes are the program encoding's numbers (see ``strategy``): ``FEATURE`` and ``CONST`` push
a leaf, every other opcode pops its arity and pushes one result. ``apply1``/``apply2``/
``apply3`` dispatch an opcode to its scalar function; the per-row machine and the over-columns
machine both go through them, so their results are bit-identical by construction.

Semantics (kept from the closures they replace, documented on ``OPERATORS``):

- Only IEEE-754 basic operations, plus ``mathfn.tanh`` (defined once, on ``math.expm1``).
- ``protectedDiv`` is 1.0 wherever the quotient would be a division by zero, inf or NaN.
- ``min``/``max``: NaN if either is NaN, else the smaller (larger), ``a`` when equal (which
  decides only the sign of a zero).
- ``lt``/``gt`` give 1.0 or 0.0 (0.0 when either is NaN); ``ifThenElse`` takes ``then`` when
  the condition is non-zero (NaN is non-zero).
"""

from __future__ import annotations

import math

import numpy as np

from asnd.core.kernel.jit import kernel
from asnd.core.kernel.mathfn import tanh

__all__ = [
    "ARITY",
    "CONST",
    "FEATURE",
    "OPCODES",
    "absolute",
    "add",
    "apply1",
    "apply2",
    "apply3",
    "greater",
    "if_then_else",
    "less",
    "maximum",
    "minimum",
    "mul",
    "neg",
    "protected_div",
    "sub",
]

FEATURE = 0
CONST = 1
ADD = 2
SUB = 3
MUL = 4
NEG = 5
PROTECTED_DIV = 6
IF_THEN_ELSE = 7
MIN = 8
MAX = 9
ABS = 10
TANH = 11
LT = 12
GT = 13

#: Operator name (as in strategy documents) -> opcode.
OPCODES: dict[str, int] = {
    "add": ADD,
    "sub": SUB,
    "mul": MUL,
    "neg": NEG,
    "protectedDiv": PROTECTED_DIV,
    "ifThenElse": IF_THEN_ELSE,
    "min": MIN,
    "max": MAX,
    "abs": ABS,
    "tanh": TANH,
    "lt": LT,
    "gt": GT,
}

#: Opcode -> number of operands it pops (leaves pop none).
ARITY = np.zeros(GT + 1, dtype=np.int64)
for _name, _code in OPCODES.items():
    ARITY[_code] = 3 if _code == IF_THEN_ELSE else 1 if _code in (NEG, ABS, TANH) else 2


# ------------------------------------------------------------------------------ operators


@kernel
def add(a: float, b: float) -> float:
    return a + b


@kernel
def sub(a: float, b: float) -> float:
    return a - b


@kernel
def mul(a: float, b: float) -> float:
    return a * b


@kernel
def neg(a: float) -> float:
    return -a


@kernel
def protected_div(a: float, b: float) -> float:
    if b == 0.0:
        return 1.0
    q = a / b
    return q if math.isfinite(q) else 1.0


@kernel
def if_then_else(cond: float, then: float, other: float) -> float:
    return then if cond != 0.0 else other


@kernel
def minimum(a: float, b: float) -> float:
    return a if (a <= b or math.isnan(a)) else b


@kernel
def maximum(a: float, b: float) -> float:
    return a if (a >= b or math.isnan(a)) else b


@kernel
def absolute(a: float) -> float:
    return math.fabs(a)


@kernel
def less(a: float, b: float) -> float:
    return 1.0 if a < b else 0.0


@kernel
def greater(a: float, b: float) -> float:
    return 1.0 if a > b else 0.0


# ------------------------------------------------------------------------------- dispatch


@kernel
def apply1(op: int, a: float) -> float:
    if op == NEG:
        return neg(a)
    if op == ABS:
        return absolute(a)
    return tanh(a)  # the only other unary opcode; programs are checked when built


@kernel
def apply2(op: int, a: float, b: float) -> float:
    if op == ADD:
        return add(a, b)
    if op == SUB:
        return sub(a, b)
    if op == MUL:
        return mul(a, b)
    if op == PROTECTED_DIV:
        return protected_div(a, b)
    if op == MIN:
        return minimum(a, b)
    if op == MAX:
        return maximum(a, b)
    if op == LT:
        return less(a, b)
    return greater(a, b)


@kernel
def apply3(op: int, a: float, b: float, c: float) -> float:
    return if_then_else(a, b, c)  # the only ternary opcode
