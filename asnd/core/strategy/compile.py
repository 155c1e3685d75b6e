"""Compile a validated tree into a postfix program that the kernel stack machine runs.

No source text is generated and nothing from the file is evaluated: each node becomes one
opcode (``asnd.core.kernel.strategy`` documents the encoding), and the same compiled kernels
run it per row (live: the daemon's slots, shadows, backtests) and over columns (research:
evolution, batch backtests). Both paths call the same scalar operator functions, so they give
identical floats for every row, including NaN, infinities and signed zeros.

- ``compile_strategy(doc, columns)`` -> ``CompiledStrategy``: both trees as one program;
  ``evaluate(row)`` gives ``(signal, size)`` in one kernel call, ``evaluate_batch(matrix)``
  both columns in one pass.
- ``compile_scalar(tree, columns)`` -> ``f(row) -> float`` where ``row[j]`` is the value of
  feature ``columns[j]`` (a ``FeatureRow`` with the default ``FEATURE_NAMES`` columns).
- ``compile_vector(tree, columns)`` -> ``f(matrix) -> column`` where ``matrix`` is
  (rows, len(columns)) float64; one output per row.

A row is a tuple of floats (a ``FeatureRow``, passed to the kernel as it is) or anything
``numpy.asarray`` turns into float64 values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numba.core.errors import TypingError

from asnd.core.features import FEATURE_NAMES
from asnd.core.kernel.strategy import Program, run_columns, run_pair, run_row
from asnd.core.kernel.strategy_ops import ARITY, CONST, FEATURE, OPCODES
from asnd.core.strategy.document import Call, Const, Node, StrategyDocument

__all__ = [
    "CompiledStrategy",
    "RowLike",
    "ScalarFn",
    "VectorFn",
    "compile_program",
    "compile_scalar",
    "compile_strategy",
    "compile_vector",
]

Floats = npt.NDArray[np.float64]
#: What ``evaluate``/``compile_scalar``'s functions take: a FeatureRow, a list, a float64 row.
RowLike = Sequence[float] | Floats
ScalarFn = Callable[[RowLike], float]
VectorFn = Callable[[Floats], Floats]


def compile_program(trees: Sequence[Node], columns: Sequence[str]) -> Program:
    """``trees`` (validated) as one program over rows laid out as ``columns``; running it
    leaves the trees' values in order.

    Raises KeyError if a tree reads a feature that is not among ``columns``.
    """
    index = {name: j for j, name in enumerate(columns)}
    code: list[int] = []
    consts: list[float] = []
    features: list[int] = []
    depth = 0
    max_depth = 0

    def emit(node: Node) -> None:
        nonlocal depth, max_depth
        if isinstance(node, Call):
            for arg in node.args:
                emit(arg)
            op = OPCODES[node.op]
            if len(node.args) != ARITY[op]:
                raise ValueError(f"op {node.op!r} takes {ARITY[op]} args, got {len(node.args)}")
            code.append(op)
            depth -= len(node.args) - 1
            return
        if isinstance(node, Const):
            code.append(CONST)
            consts.append(node.value)
        else:
            if node.name not in index:
                raise KeyError(f"feature {node.name!r} is not among the input columns")
            code.append(FEATURE)
            features.append(index[node.name])
        depth += 1
        max_depth = max(max_depth, depth)

    for tree in trees:
        emit(tree)
    return Program(
        np.array(code, dtype=np.int64),
        np.array(consts, dtype=np.float64),
        np.array(features, dtype=np.int64),
        max_depth,
        len(trees),
        len(columns),
    )


def _array_row(row: RowLike, width: int) -> Floats:
    # The kernel does not check bounds: a short row must never reach it.
    data = np.ascontiguousarray(row, dtype=np.float64)
    if data.shape != (width,):
        raise ValueError(f"expected a row of {width} values, got shape {data.shape}")
    return data


def _row_kernel(kernel: Callable[..., Any], program: Program) -> Callable[[RowLike], Any]:
    """``kernel`` bound to ``program``: a function of one row (the live hot path, so one plain
    Python call deep: a closure, which CPython calls faster than an object's ``__call__``)."""
    code, consts, features, width = program.code, program.consts, program.features, program.width

    def run(row: RowLike) -> Any:
        if type(row) is tuple and len(row) == width:
            # A FeatureRow goes to the kernel as it is (no array per live event).
            try:
                return kernel(code, consts, features, row)
            except TypingError:  # a tuple that is not all floats (a FeatureRow always is)
                pass
        return kernel(code, consts, features, _array_row(row, width))

    return run


def _matrix(matrix: Floats, width: int) -> Floats:
    data = np.ascontiguousarray(matrix, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != width:
        raise ValueError(f"expected a (rows, {width}) matrix, got shape {data.shape}")
    return data


def _columns(program: Program, matrix: Floats) -> Floats:
    out: Floats = run_columns(
        program.code,
        program.consts,
        program.features,
        program.stack_depth,
        program.outputs,
        _matrix(matrix, program.width),
    )
    return out


def compile_scalar(tree: Node, columns: Sequence[str] = FEATURE_NAMES) -> ScalarFn:
    """``tree`` as a function of one feature row (``row[j]`` is feature ``columns[j]``)."""
    run: ScalarFn = _row_kernel(run_row, compile_program([tree], columns))
    return run


def compile_vector(tree: Node, columns: Sequence[str] = FEATURE_NAMES) -> VectorFn:
    """``tree`` as a function of a (rows, len(columns)) float64 matrix, one output per row."""
    program = compile_program([tree], columns)

    def evaluate(matrix: Floats) -> Floats:
        out: Floats = _columns(program, matrix)[0]
        return out

    return evaluate


class CompiledStrategy:
    """A document's two trees as one program for one column layout."""

    __slots__ = ("columns", "document", "evaluate", "program")

    def __init__(self, document: StrategyDocument, columns: Sequence[str]) -> None:
        self.document = document
        self.columns = tuple(columns)
        self.program = compile_program([document.signal, document.size], self.columns)
        #: ``evaluate(row) -> (signal, size)`` on one row, in one kernel call.
        self.evaluate: Callable[[RowLike], tuple[float, float]] = _row_kernel(
            run_pair, self.program
        )

    def signal(self, row: RowLike) -> float:
        return self.evaluate(row)[0]

    def size(self, row: RowLike) -> float:
        return self.evaluate(row)[1]

    def evaluate_batch(self, matrix: Floats) -> Floats:
        """(2, rows): signal and size on every row of a (rows, len(columns)) matrix."""
        return _columns(self.program, matrix)

    def signal_batch(self, matrix: Floats) -> Floats:
        out: Floats = self.evaluate_batch(matrix)[0]
        return out

    def size_batch(self, matrix: Floats) -> Floats:
        out: Floats = self.evaluate_batch(matrix)[1]
        return out


def compile_strategy(
    doc: StrategyDocument, columns: Sequence[str] = FEATURE_NAMES
) -> CompiledStrategy:
    """Compile both trees of ``doc`` for rows laid out as ``columns``."""
    return CompiledStrategy(doc, columns)
