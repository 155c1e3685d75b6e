"""The GP strategy document (format v1) and the blueprint's legacy format.

Format v1 (JSON)::

    {
      "format": "asn-strategy", "version": 1,
      "id": "momentum-7",
      "features": ["imbalance", "ofi"],
      "signal": {"op": "sub", "args": [{"feature": "imbalance"}, {"const": 0.5}]},
      "size":   {"op": "tanh", "args": [{"feature": "ofi"}]},
      "params": {"entry_long": 0.5, "entry_short": -0.5, "size_range": [0.0, 1.0]},
      "metadata": {"lineage": ["momentum-3"], "fitness": {"causal": 1.7},
                   "data_range": {"start": "2024-12-01T00:00:00Z", "end": "..."},
                   "seed": 42, "created": "2026-11-23T12:00:00Z"}
    }

A node is exactly one of ``{"op": name, "args": [node, ...]}`` (an operator from
``OPERATORS`` with its arity), ``{"feature": name}`` (one of the document's ``features``) or
``{"const": number}`` (finite). ``params`` and ``metadata`` and every key inside them are
optional; the defaults are below.

- ``signal`` > ``entry_long`` means buy, < ``entry_short`` means sell (see ``decision``).
- ``size`` is squashed by a logistic into ``size_range``, a fraction of the slot's
  [min, max] order quantity.

The blueprint's format ``{"root": {"primitive": "add", "children": [...]}}`` with leaves
``{"primitive": {"Feature": i}, "children": []}`` (i = 0, 1, 2: imbalance, pressure, clv) and
``{"primitive": {"Constant": x}, "children": []}`` also loads: its tree becomes ``signal``,
``size`` is the constant 0 (the middle of the size range), and its id is ``legacy-`` plus the
first 12 hex digits of the file's SHA-256.

``parse_strategy`` (in ``validate``) turns bytes into a ``StrategyDocument``;
``to_json`` turns one back into v1 text that parses to an equal document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LEGACY_FEATURES",
    "Call",
    "Const",
    "FeatureRef",
    "Metadata",
    "Node",
    "StrategyDocument",
    "StrategyParams",
    "node_count",
    "node_depth",
    "node_to_json",
    "to_json",
]

FORMAT_NAME = "asn-strategy"
FORMAT_VERSION = 1

#: The blueprint's feature vector: ``{"Feature": i}`` reads ``LEGACY_FEATURES[i]``.
LEGACY_FEATURES: tuple[str, ...] = ("imbalance", "pressure", "clv")


@dataclass(frozen=True, slots=True)
class Const:
    value: float


@dataclass(frozen=True, slots=True)
class FeatureRef:
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    op: str
    args: tuple[Node, ...]


Node: TypeAlias = "Call | FeatureRef | Const"


@dataclass(frozen=True, slots=True)
class StrategyParams:
    """Entry thresholds on the signal and the fraction of the slot's size range to use."""

    entry_long: float = 0.5
    entry_short: float = -0.5
    size_min: float = 0.0
    size_max: float = 1.0


@dataclass(frozen=True, slots=True)
class Metadata:
    """Where a strategy came from. Informational: never changes how it trades."""

    lineage: tuple[str, ...] = ()
    fitness: Mapping[str, float] = field(default_factory=dict)
    data_start: str | None = None
    data_end: str | None = None
    seed: int | None = None
    created: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyDocument:
    id: str
    features: tuple[str, ...]
    signal: Node
    size: Node
    params: StrategyParams = StrategyParams()
    metadata: Metadata = Metadata()
    #: 1 for format v1; 0 for a document read from the blueprint's legacy format.
    source_version: int = FORMAT_VERSION


def node_count(node: Node) -> int:
    """Number of nodes in the tree rooted at ``node``."""
    if isinstance(node, Call):
        return 1 + sum(node_count(a) for a in node.args)
    return 1


def node_depth(node: Node) -> int:
    """Edges from ``node`` to its deepest leaf (a lone leaf has depth 0, as in deap)."""
    if isinstance(node, Call):
        return 1 + max(node_depth(a) for a in node.args)
    return 0


def node_to_json(node: Node) -> dict[str, Any]:
    if isinstance(node, Call):
        return {"op": node.op, "args": [node_to_json(a) for a in node.args]}
    if isinstance(node, FeatureRef):
        return {"feature": node.name}
    return {"const": node.value}


def to_json(doc: StrategyDocument, *, indent: int | None = 2) -> str:
    """The document as format v1 JSON text (legacy documents are upgraded)."""
    meta: dict[str, Any] = {"lineage": list(doc.metadata.lineage)}
    meta["fitness"] = dict(doc.metadata.fitness)
    if doc.metadata.data_start is not None and doc.metadata.data_end is not None:
        meta["data_range"] = {"start": doc.metadata.data_start, "end": doc.metadata.data_end}
    if doc.metadata.seed is not None:
        meta["seed"] = doc.metadata.seed
    if doc.metadata.created is not None:
        meta["created"] = doc.metadata.created
    p = doc.params
    body = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "id": doc.id,
        "features": list(doc.features),
        "signal": node_to_json(doc.signal),
        "size": node_to_json(doc.size),
        "params": {
            "entry_long": p.entry_long,
            "entry_short": p.entry_short,
            "size_range": [p.size_min, p.size_max],
        },
        "metadata": meta,
    }
    # allow_nan=False: a document that would not parse back must fail here, not on load.
    return json.dumps(body, indent=indent, allow_nan=False)
