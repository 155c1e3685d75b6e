"""GP strategies: the document format, its validation, the compiler and the decision mapping.

Typical use::

    doc = parse_strategy(data)              # bytes from a file; raises StrategyError
    strategy = compile_strategy(doc)        # rows laid out as FEATURE_NAMES
    decision = decide(strategy.signal(row), strategy.size(row), doc.params, sizing, price)
"""

from asnd.core.strategy.compile import (
    CompiledStrategy,
    compile_scalar,
    compile_strategy,
    compile_vector,
)
from asnd.core.strategy.decision import Decision, SlotSizing, decide, squash
from asnd.core.strategy.document import (
    LEGACY_FEATURES,
    Call,
    Const,
    FeatureRef,
    Metadata,
    Node,
    StrategyDocument,
    StrategyParams,
    node_count,
    node_depth,
    to_json,
)
from asnd.core.strategy.operators import OPERATORS, Operator
from asnd.core.strategy.validate import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_NODES,
    StrategyError,
    parse_strategy,
)

__all__ = [
    "LEGACY_FEATURES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_NODES",
    "OPERATORS",
    "Call",
    "CompiledStrategy",
    "Const",
    "Decision",
    "FeatureRef",
    "Metadata",
    "Node",
    "Operator",
    "SlotSizing",
    "StrategyDocument",
    "StrategyError",
    "StrategyParams",
    "compile_scalar",
    "compile_strategy",
    "compile_vector",
    "decide",
    "node_count",
    "node_depth",
    "parse_strategy",
    "squash",
    "to_json",
]
