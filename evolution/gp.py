"""Genetic programming with deap: an individual is two trees, ``signal`` and ``size``.

The primitive set is built from ``asnd.core.strategy.OPERATORS`` (name, arity, scalar form),
never from a second list, so every tree evolved here is a tree the daemon can load; its
terminals are the causal features chosen by ``evolution.causal`` and ephemeral constants in
[-2, 2] (two decimals, so exported files stay readable).

Bloat control: static height limit ``max_height`` on both trees after crossover and
mutation (a child that breaks it is replaced by its parent's tree), and parents are chosen
by a double tournament (fitness first, then the smaller of two with probability 0.7).

Randomness: ``seeded(seed)`` gives deap and this module a private ``random.Random(seed)`` for
the length of a run, so a run is reproducible and no other code can disturb its stream.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from deap import base, creator, gp, tools

from asnd.core.features import FEATURE_NAMES
from asnd.core.strategy import (
    OPERATORS,
    Call,
    Const,
    FeatureRef,
    Metadata,
    Node,
    StrategyDocument,
)
from asnd.core.strategy.document import node_to_json

__all__ = [
    "Individual",
    "StrategyGP",
    "document_of",
    "individual_key",
    "seeded",
]

_CONST_NAME = "asn_const"


_rng = random.Random(0)  # replaced by ``seeded`` for the length of a run


def _random_constant() -> float:
    return round(_rng.uniform(-2.0, 2.0), 2)


if not hasattr(creator, "AsnFitness"):
    creator.create("AsnFitness", base.Fitness, weights=(1.0,))
    creator.create("AsnFitnessSized", base.Fitness, weights=(1.0, -1.0))
    creator.create("AsnIndividual", list, fitness=creator.AsnFitness)
    creator.create("AsnIndividualSized", list, fitness=creator.AsnFitnessSized)

#: An individual: ``[signal_tree, size_tree]`` (deap ``PrimitiveTree``s) with ``fitness`` and
#: the attributes ``uid``, ``generation``, ``parents`` and ``components`` set by the search.
Individual = Any


_DEAP_MODULES = ("deap.gp", "deap.tools.selection", "deap.tools.emo", "deap.tools.crossover",
                 "deap.tools.mutation")  # fmt: skip


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Give deap (and this module) a private ``random.Random(seed)`` for the run.

    deap calls the ``random`` module's functions; each deap module's ``random`` name is
    pointed at the private generator meanwhile, so nothing else in the process (a Dask
    thread, a test) can draw from the run's stream, and the global state is never touched.
    """
    import importlib

    rng = random.Random(seed)
    patched = [importlib.import_module(m) for m in _DEAP_MODULES]
    saved = [getattr(m, "random", None) for m in patched]
    global _rng  # noqa: PLW0603 - the run-scoped generator deap and this module share
    previous = _rng
    _rng = rng
    for m in patched:
        if hasattr(m, "random"):
            m.random = rng  # type: ignore[attr-defined]
    try:
        yield
    finally:
        _rng = previous
        for m, old in zip(patched, saved, strict=True):
            if old is not None:
                m.random = old  # type: ignore[attr-defined]


class StrategyGP:
    """Primitive set, generation and variation of two-tree individuals over ``features``."""

    def __init__(
        self,
        features: Sequence[str],
        *,
        max_height: int = 6,
        init_height: tuple[int, int] = (1, 3),
        nsga2: bool = False,
    ) -> None:
        if not features:
            raise ValueError("the GP needs at least one input feature")
        unknown = [f for f in features if f not in FEATURE_NAMES]
        if unknown:
            raise ValueError(f"unknown features {unknown}")
        self.features = tuple(features)
        self.max_height = max_height
        self.nsga2 = nsga2
        pset = gp.PrimitiveSet("ASN", len(self.features))
        for op in OPERATORS.values():
            pset.addPrimitive(op.scalar, op.arity, name=op.name)
        pset.renameArguments(**{f"ARG{i}": name for i, name in enumerate(self.features)})
        pset.addEphemeralConstant(_CONST_NAME, _random_constant)
        self.pset = pset
        tb = base.Toolbox()
        tb.register("expr", gp.genHalfAndHalf, pset=pset, min_=init_height[0], max_=init_height[1])
        tb.register("tree", lambda: gp.PrimitiveTree(tb.expr()))
        tb.register("expr_mut", gp.genFull, min_=0, max_=2)
        self.toolbox = tb
        self._cls = creator.AsnIndividualSized if nsga2 else creator.AsnIndividual

    # ------------------------------------------------------------------ individuals

    def new(self) -> Individual:
        return self._cls([self.toolbox.tree(), self.toolbox.tree()])

    def clone(self, ind: Individual) -> Individual:
        return self._cls([gp.PrimitiveTree(list(ind[0])), gp.PrimitiveTree(list(ind[1]))])

    def vary(self, a: Individual, b: Individual, cx_prob: float, mut_prob: float) -> Individual:
        """One child of parents ``a`` and ``b``: per tree, crossover with ``cx_prob``, then
        mutation of one tree with ``mut_prob``; a tree over the height limit reverts."""
        child = self.clone(a)
        for k in (0, 1):
            if _rng.random() < cx_prob:
                x, y = gp.PrimitiveTree(list(a[k])), gp.PrimitiveTree(list(b[k]))
                x, _ = gp.cxOnePoint(x, y)
                if x.height <= self.max_height:
                    child[k] = x
        if _rng.random() < mut_prob:
            k = _rng.randrange(2)
            tree = gp.PrimitiveTree(list(child[k]))
            if _rng.random() < 0.8:
                (tree,) = gp.mutUniform(tree, expr=self.toolbox.expr_mut, pset=self.pset)
            else:
                (tree,) = gp.mutShrink(tree)
            if tree.height <= self.max_height:
                child[k] = tree
        return child

    def select_parents(self, population: Sequence[Individual], k: int) -> list[Individual]:
        if self.nsga2:
            return cast(list[Individual], tools.selTournament(population, k, tournsize=3))
        return cast(
            list[Individual],
            tools.selDoubleTournament(
                population, k, fitness_size=3, parsimony_size=1.4, fitness_first=True
            ),
        )

    def select_survivors(self, pool: Sequence[Individual], k: int) -> list[Individual]:
        if self.nsga2:
            return cast(list[Individual], tools.selNSGA2(pool, k))
        # Best first; on equal fitness the smaller, then the older (stable sort).
        return sorted(pool, key=lambda i: (-i.fitness.values[0], size_of(i)))[:k]

    def set_fitness(self, ind: Individual, fitness: float) -> None:
        ind.fitness.values = (fitness, float(size_of(ind))) if self.nsga2 else (fitness,)

    def document(self, ind: Individual, doc_id: str = "candidate") -> StrategyDocument:
        return document_of(ind, doc_id, self.pset)


def size_of(ind: Individual) -> int:
    return len(ind[0]) + len(ind[1])


def _to_node(tree: gp.PrimitiveTree, arguments: Sequence[str]) -> Node:
    def build(i: int) -> tuple[Node, int]:
        item = tree[i]
        if isinstance(item, gp.Primitive):
            args = []
            j = i + 1
            for _ in range(item.arity):
                node, j = build(j)
                args.append(node)
            return Call(item.name, tuple(args)), j
        if isinstance(item.value, str):  # an argument: deap keeps the renamed name in value
            if item.value not in arguments:  # pragma: no cover - pset built from features
                raise ValueError(f"unknown argument {item.value!r}")
            return FeatureRef(item.value), i + 1
        return Const(float(item.value)), i + 1

    node, end = build(0)
    if end != len(tree):  # pragma: no cover - deap trees are always complete prefix lists
        raise ValueError("malformed tree")
    return node


def _features_in(node: Node, out: set[str]) -> None:
    if isinstance(node, FeatureRef):
        out.add(node.name)
    elif isinstance(node, Call):
        for a in node.args:
            _features_in(a, out)


def document_of(
    ind: Individual, doc_id: str, pset: gp.PrimitiveSet, metadata: Metadata | None = None
) -> StrategyDocument:
    """The individual as a strategy document (features: those its trees read)."""
    signal = _to_node(ind[0], pset.arguments)
    size = _to_node(ind[1], pset.arguments)
    used: set[str] = set()
    _features_in(signal, used)
    _features_in(size, used)
    features = tuple(n for n in FEATURE_NAMES if n in used)
    return StrategyDocument(doc_id, features, signal, size, metadata=metadata or Metadata())


def individual_key(doc: StrategyDocument) -> str:
    """Content hash of the two trees: equal trees, equal key (used for ids and the hall of
    fame)."""
    text = repr((node_to_json(doc.signal), node_to_json(doc.size)))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
