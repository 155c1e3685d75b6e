"""GP strategy trees as postfix programs, and the stack machine that runs them.

``asnd.core.strategy.compile`` builds a ``Program`` from a validated tree.

Encoding (``Program``): trees become three flat arrays, read left to right.

- ``code`` (int64): one opcode per node in postfix order (children before their parent, in
  argument order). Opcodes are ``strategy_ops``'s: ``FEATURE`` and ``CONST`` push a leaf; every
  operator pops its arity (``ARITY``) and pushes its result. A program of several trees is
  their codes one after the other; running it leaves ``outputs`` values on the stack, tree
  by tree (a strategy is ``[signal, size]``, so one call gives both).
- ``consts`` (float64): the value of each ``CONST``, in the order the ``CONST``s occur in
  ``code`` (the machine keeps one cursor into it).
- ``features`` (int64): for each ``FEATURE``, in order of occurrence, the column it reads (an
  index into the row or the matrix's second axis, resolved against the caller's column layout
  when the program is built).

``stack_depth`` is the most values the program ever holds at once. For example
``sub(imbalance, mul(0.5, ofi))`` over ``FEATURE_NAMES`` is ``code = [FEATURE, CONST, FEATURE,
MUL, SUB]``, ``consts = [0.5]``, ``features = [0, 5]``, ``stack_depth = 3``, ``outputs = 1``.

``ifThenElse`` evaluates both branches and picks one: operators are pure and never fail, so
the value is the one the branch taken alone would give (the old scalar closures evaluated
only that branch; the vectorised ones both).

Operands reach the operators as ``float`` (a no-op when jitted; as plain Python under
``NUMBA_DISABLE_JIT=1`` it makes them Python floats, whose overflow to inf is silent, as in the
compiled code, where numpy scalars would warn).

The kernels that run a program all go through ``strategy_ops``'s ``apply*``, so per-row and
over-columns results are bit-identical by construction:

- ``run_pair``/``run_row``: one row (live: one call per feature row) -> the first two
  outputs / the first output.
- ``run_rows``: the per-row machine looped over a (rows, columns) matrix inside the kernel.
- ``run_columns``: op by op over blocks of ``BLOCK_ROWS`` rows (each operator one tight loop
  over a block held in cache). It is the faster over columns (``bench/strategy.py`` measures
  both: 1.4x to 4.2x on the six champions in our runs), so research uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from asnd.core.kernel.jit import kernel
from asnd.core.kernel.strategy_ops import ARITY, CONST, FEATURE, apply1, apply2, apply3

__all__ = [
    "BLOCK_ROWS",
    "Program",
    "run_columns",
    "run_pair",
    "run_row",
    "run_rows",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
#: One feature row: a float64 array or a tuple of floats (a ``FeatureRow``).
Row = Floats | tuple[float, ...]

#: Rows per block in ``run_columns``: a block of every stack slot stays in L1/L2 cache.
BLOCK_ROWS = 512


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    """Postfix programs of one or more trees, run one after the other (see the module doc).

    ``outputs`` is how many trees (values left on the stack, in tree order); ``width`` the
    number of columns of the layout the feature indices were resolved against.
    """

    code: Ints
    consts: Floats
    features: Ints
    stack_depth: int
    outputs: int
    width: int


# --------------------------------------------------------------------------------- kernels


@kernel
def _eval(code: Ints, consts: Floats, features: Ints, row: Row, stack: Floats) -> None:
    """Run ``code`` on ``row``; the outputs are left in ``stack[0:outputs]``."""
    sp = 0
    ci = 0
    fi = 0
    for op in code:
        if op == FEATURE:
            stack[sp] = row[features[fi]]
            fi += 1
            sp += 1
        elif op == CONST:
            stack[sp] = consts[ci]
            ci += 1
            sp += 1
        else:
            arity = ARITY[op]
            if arity == 1:
                stack[sp - 1] = apply1(op, float(stack[sp - 1]))
            elif arity == 2:
                stack[sp - 2] = apply2(op, float(stack[sp - 2]), float(stack[sp - 1]))
                sp -= 1
            else:
                stack[sp - 3] = apply3(
                    op, float(stack[sp - 3]), float(stack[sp - 2]), float(stack[sp - 1])
                )
                sp -= 2


@kernel
def run_row(code: Ints, consts: Floats, features: Ints, row: Row) -> float:
    """The first output on one row (``row[j]`` is column ``j``: a float64 array, or a tuple
    of floats such as a ``FeatureRow``)."""
    stack = np.empty(code.size, dtype=np.float64)
    _eval(code, consts, features, row, stack)
    return float(stack[0])


@kernel
def run_pair(code: Ints, consts: Floats, features: Ints, row: Row) -> tuple[float, float]:
    """The first two outputs on one row (a strategy's signal and size in one call)."""
    stack = np.empty(code.size, dtype=np.float64)
    _eval(code, consts, features, row, stack)
    return stack[0], stack[1]


@kernel
def run_rows(code: Ints, consts: Floats, features: Ints, outputs: int, matrix: Floats) -> Floats:
    """The per-row machine on every row of ``matrix``: (outputs, rows)."""
    rows = matrix.shape[0]
    out = np.empty((outputs, rows), dtype=np.float64)
    stack = np.empty(code.size, dtype=np.float64)
    for r in range(rows):
        _eval(code, consts, features, matrix[r], stack)
        for k in range(outputs):
            out[k, r] = stack[k]
    return out


@kernel
def run_columns(
    code: Ints, consts: Floats, features: Ints, stack_depth: int, outputs: int, matrix: Floats
) -> Floats:
    """The program op by op over blocks of ``BLOCK_ROWS`` rows of ``matrix``: (outputs, rows)."""
    rows = matrix.shape[0]
    out = np.empty((outputs, rows), dtype=np.float64)
    stack = np.empty((max(stack_depth, 1), BLOCK_ROWS), dtype=np.float64)
    for start in range(0, rows, BLOCK_ROWS):
        n = min(BLOCK_ROWS, rows - start)
        sp = 0
        ci = 0
        fi = 0
        for op in code:
            if op == FEATURE:
                j = features[fi]
                top = stack[sp]
                for i in range(n):
                    top[i] = matrix[start + i, j]
                fi += 1
                sp += 1
            elif op == CONST:
                top = stack[sp]
                value = consts[ci]
                for i in range(n):
                    top[i] = value
                ci += 1
                sp += 1
            else:
                arity = ARITY[op]
                if arity == 1:
                    a = stack[sp - 1]
                    for i in range(n):
                        a[i] = apply1(op, float(a[i]))
                elif arity == 2:
                    a = stack[sp - 2]
                    b = stack[sp - 1]
                    for i in range(n):
                        a[i] = apply2(op, float(a[i]), float(b[i]))
                    sp -= 1
                else:
                    a = stack[sp - 3]
                    b = stack[sp - 2]
                    c = stack[sp - 1]
                    for i in range(n):
                        a[i] = apply3(op, float(a[i]), float(b[i]), float(c[i]))
                    sp -= 2
        for k in range(outputs):
            out[k, start : start + n] = stack[k, :n]
    return out
