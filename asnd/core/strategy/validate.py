"""Parse and validate strategy documents: bytes in, a ``StrategyDocument`` or a
``StrategyError`` out, never anything else.

Challenger files arrive from outside the daemon, so this is a hostile-input parser: the text
is only ever handed to ``json.loads`` (never eval/exec), and every rule is checked before a
tree is compiled. Errors name the offending node by its path in the document, e.g.
``signal.args[1]: unknown op 'pow'`` or, for the legacy format, ``root.children[0]: ...``.

Limits (per tree): depth at most ``MAX_DEPTH`` (edges root to leaf, deap's measure and its
customary bloat limit), at most ``MAX_NODES`` nodes. The whole file is at most
``MAX_DOCUMENT_BYTES`` of UTF-8. JSON's non-standard ``NaN``/``Infinity`` literals and
duplicate keys are rejected.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from asnd.core.features import FEATURE_NAMES
from asnd.core.strategy.document import (
    FORMAT_NAME,
    FORMAT_VERSION,
    LEGACY_FEATURES,
    Call,
    Const,
    FeatureRef,
    Metadata,
    Node,
    StrategyDocument,
    StrategyParams,
)
from asnd.core.strategy.operators import OPERATORS

__all__ = ["MAX_DEPTH", "MAX_DOCUMENT_BYTES", "MAX_NODES", "StrategyError", "parse_strategy"]

MAX_DEPTH = 17
MAX_NODES = 512
MAX_DOCUMENT_BYTES = 1 << 20

#: deap names ``if_then_else`` by its Python function; the blueprint's serializer wrote that.
_LEGACY_ALIASES = {"if_then_else": "ifThenElse"}

_TOP_KEYS = frozenset(
    {"format", "version", "id", "features", "signal", "size", "params", "metadata"}
)
_PARAM_KEYS = frozenset({"entry_long", "entry_short", "size_range"})
_META_KEYS = frozenset({"lineage", "fitness", "data_range", "seed", "created"})
_MAX_ID_CHARS = 128
# Ids end up in logs, journal events and file names: no separators, spaces or control chars.
_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{_MAX_ID_CHARS - 1}}}", re.ASCII)


class StrategyError(ValueError):
    """A strategy document is unreadable or breaks a rule. ``path`` names where ("" = file)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


def parse_strategy(data: bytes | str) -> StrategyDocument:
    """Validate ``data`` (a v1 or legacy document) and return it. Raises only StrategyError."""
    raw = _encoded(data)
    obj = _load_json(raw)
    if not isinstance(obj, dict):
        raise StrategyError("", f"document must be a JSON object, not {_kind(obj)}")
    if "root" in obj:
        return _parse_legacy(obj, raw)
    return _parse_v1(obj)


# --------------------------------------------------------------------------------- JSON layer


def _encoded(data: bytes | str) -> bytes:
    if isinstance(data, str):
        # A str longer than the limit in characters is longer in bytes too: skip the encode.
        if len(data) > MAX_DOCUMENT_BYTES:
            raise StrategyError("", f"document larger than {MAX_DOCUMENT_BYTES} bytes")
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StrategyError("", f"document is not valid Unicode: {exc.reason}") from None
    elif not isinstance(data, bytes | bytearray | memoryview):
        raise StrategyError("", f"document must be bytes or str, not {type(data).__name__}")
    raw = bytes(data)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise StrategyError("", f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    return raw


def _reject_constant(name: str) -> Any:
    raise StrategyError("", f"non-standard JSON constant {name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrategyError("", f"duplicate key {_short(key)}")
        out[key] = value
    return out


def _load_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrategyError("", f"document is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except StrategyError:
        raise
    except RecursionError:
        raise StrategyError("", "JSON nested too deeply") from None
    except ValueError as exc:
        # JSONDecodeError, and int literals too long to convert (Python's digit limit).
        raise StrategyError("", f"invalid JSON: {exc}") from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# ------------------------------------------------------------------------------------ format v1


def _parse_v1(obj: dict[str, Any]) -> StrategyDocument:
    if obj.get("format") != FORMAT_NAME:
        raise StrategyError(
            "format", f"expected {FORMAT_NAME!r} (or a legacy document with 'root')"
        )
    version = obj.get("version")
    if not _is_int(version):
        raise StrategyError("version", f"must be an integer, got {_kind(version)}")
    if version != FORMAT_VERSION:
        raise StrategyError(
            "version", f"unsupported version {version} (this build reads {FORMAT_VERSION})"
        )
    _no_unknown_keys(obj, _TOP_KEYS, "")
    for key in ("id", "features", "signal", "size"):
        if key not in obj:
            raise StrategyError(key, "missing")
    doc_id = obj["id"]
    if not isinstance(doc_id, str) or not _ID.fullmatch(doc_id):
        raise StrategyError(
            "id", f"must be 1-{_MAX_ID_CHARS} of A-Z a-z 0-9 . _ - starting with a letter or digit"
        )
    features = _parse_features(obj["features"])
    signal = _parse_tree(obj["signal"], "signal", frozenset(features))
    size = _parse_tree(obj["size"], "size", frozenset(features))
    params = _parse_params(obj.get("params", {}))
    metadata = _parse_metadata(obj.get("metadata", {}))
    return StrategyDocument(doc_id, features, signal, size, params, metadata, FORMAT_VERSION)


def _parse_features(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise StrategyError("features", f"must be an array of names, got {_kind(value)}")
    seen: list[str] = []
    for i, name in enumerate(value):
        path = f"features[{i}]"
        if not isinstance(name, str):
            raise StrategyError(path, f"must be a string, got {_kind(name)}")
        if name not in FEATURE_NAMES:
            raise StrategyError(path, f"unknown feature {_short(name)}")
        if name in seen:
            raise StrategyError(path, f"feature {name!r} listed twice")
        seen.append(name)
    return tuple(seen)


class _TreeBudget:
    """Counts nodes across one tree so an oversized tree fails at the node that breaks it."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes = 0


def _parse_tree(value: Any, path: str, features: frozenset[str]) -> Node:
    return _parse_node(value, path, 0, features, _TreeBudget())


def _parse_node(
    value: Any, path: str, depth: int, features: frozenset[str], budget: _TreeBudget
) -> Node:
    if depth > MAX_DEPTH:
        raise StrategyError(path, f"tree deeper than {MAX_DEPTH}")
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise StrategyError(path, f"tree has more than {MAX_NODES} nodes")
    if not isinstance(value, dict):
        raise StrategyError(path, f"node must be an object, got {_kind(value)}")
    kinds = [k for k in ("op", "feature", "const") if k in value]
    if len(kinds) > 1:
        raise StrategyError(path, f"node has both {kinds[0]!r} and {kinds[1]!r}")
    if "op" in value:
        _no_unknown_keys(value, frozenset({"op", "args"}), path)
        op_name = value["op"]
        if not isinstance(op_name, str):
            raise StrategyError(path, f"op must be a string, got {_kind(op_name)}")
        op = OPERATORS.get(op_name)
        if op is None:
            raise StrategyError(path, f"unknown op {_short(op_name)}")
        args = value.get("args")
        if not isinstance(args, list):
            raise StrategyError(path, f"args must be an array, got {_kind(args)}")
        if len(args) != op.arity:
            raise StrategyError(path, f"op {op_name!r} takes {op.arity} args, got {len(args)}")
        return Call(
            op_name,
            tuple(
                _parse_node(a, f"{path}.args[{i}]", depth + 1, features, budget)
                for i, a in enumerate(args)
            ),
        )
    if "feature" in value:
        _no_unknown_keys(value, frozenset({"feature"}), path)
        name = value["feature"]
        if not isinstance(name, str):
            raise StrategyError(path, f"feature must be a string, got {_kind(name)}")
        if name not in FEATURE_NAMES:
            raise StrategyError(path, f"unknown feature {_short(name)}")
        if name not in features:
            raise StrategyError(path, f"feature {name!r} is not in the document's features")
        return FeatureRef(name)
    if "const" in value:
        _no_unknown_keys(value, frozenset({"const"}), path)
        return Const(_finite(value["const"], path, "const"))
    raise StrategyError(path, "node needs one of 'op', 'feature' or 'const'")


def _parse_params(value: Any) -> StrategyParams:
    if not isinstance(value, dict):
        raise StrategyError("params", f"must be an object, got {_kind(value)}")
    _no_unknown_keys(value, _PARAM_KEYS, "params")
    default = StrategyParams()
    entry_long = _finite(value.get("entry_long", default.entry_long), "params.entry_long")
    entry_short = _finite(value.get("entry_short", default.entry_short), "params.entry_short")
    if entry_short > entry_long:
        raise StrategyError("params", "entry_short must not exceed entry_long")
    size_range = value.get("size_range", [default.size_min, default.size_max])
    if not isinstance(size_range, list) or len(size_range) != 2:
        raise StrategyError("params.size_range", "must be an array [min, max]")
    lo = _finite(size_range[0], "params.size_range[0]")
    hi = _finite(size_range[1], "params.size_range[1]")
    if not 0.0 <= lo <= hi <= 1.0:
        raise StrategyError("params.size_range", "needs 0 <= min <= max <= 1")
    return StrategyParams(entry_long, entry_short, lo, hi)


def _parse_metadata(value: Any) -> Metadata:
    if not isinstance(value, dict):
        raise StrategyError("metadata", f"must be an object, got {_kind(value)}")
    _no_unknown_keys(value, _META_KEYS, "metadata")
    lineage = value.get("lineage", [])
    if not isinstance(lineage, list) or not all(isinstance(x, str) for x in lineage):
        raise StrategyError("metadata.lineage", "must be an array of strategy ids")
    fitness = value.get("fitness", {})
    if not isinstance(fitness, dict):
        raise StrategyError("metadata.fitness", f"must be an object, got {_kind(fitness)}")
    scores = {k: _finite(v, f"metadata.fitness.{k}") for k, v in fitness.items()}
    start = end = None
    if "data_range" in value:
        data_range = value["data_range"]
        if not isinstance(data_range, dict):
            raise StrategyError("metadata.data_range", "must be an object {start, end}")
        _no_unknown_keys(data_range, frozenset({"start", "end"}), "metadata.data_range")
        start, end = data_range.get("start"), data_range.get("end")
        if not isinstance(start, str) or not isinstance(end, str):
            raise StrategyError("metadata.data_range", "start and end must be strings")
    seed = value.get("seed")
    if seed is not None and not _is_int(seed):
        raise StrategyError("metadata.seed", f"must be an integer, got {_kind(seed)}")
    created = value.get("created")
    if created is not None and not isinstance(created, str):
        raise StrategyError("metadata.created", f"must be a string, got {_kind(created)}")
    return Metadata(tuple(lineage), scores, start, end, seed, created)


# ----------------------------------------------------------------------------- legacy format


def _parse_legacy(obj: dict[str, Any], raw: bytes) -> StrategyDocument:
    _no_unknown_keys(obj, frozenset({"root"}), "")
    signal = _parse_legacy_node(obj["root"], "root", 0, _TreeBudget())
    doc_id = "legacy-" + hashlib.sha256(raw).hexdigest()[:12]
    return StrategyDocument(doc_id, LEGACY_FEATURES, signal, Const(0.0), source_version=0)


def _parse_legacy_node(value: Any, path: str, depth: int, budget: _TreeBudget) -> Node:
    if depth > MAX_DEPTH:
        raise StrategyError(path, f"tree deeper than {MAX_DEPTH}")
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise StrategyError(path, f"tree has more than {MAX_NODES} nodes")
    if not isinstance(value, dict):
        raise StrategyError(path, f"node must be an object, got {_kind(value)}")
    _no_unknown_keys(value, frozenset({"primitive", "children"}), path)
    if "primitive" not in value or "children" not in value:
        raise StrategyError(path, "node needs 'primitive' and 'children'")
    primitive, children = value["primitive"], value["children"]
    if not isinstance(children, list):
        raise StrategyError(path, f"children must be an array, got {_kind(children)}")
    if isinstance(primitive, dict):
        if len(primitive) != 1 or not ({"Feature", "Constant"} >= primitive.keys()):
            raise StrategyError(path, "primitive must be a name, {'Feature': i} or {'Constant': x}")
        if children:
            raise StrategyError(path, "a terminal has no children")
        if "Feature" in primitive:
            index = primitive["Feature"]
            if not _is_int(index) or not 0 <= index < len(LEGACY_FEATURES):
                raise StrategyError(path, f"Feature index must be 0..{len(LEGACY_FEATURES) - 1}")
            return FeatureRef(LEGACY_FEATURES[index])
        return Const(_finite(primitive["Constant"], path, "Constant"))
    if not isinstance(primitive, str):
        raise StrategyError(path, f"primitive must be a string or object, got {_kind(primitive)}")
    name = _LEGACY_ALIASES.get(primitive, primitive)
    op = OPERATORS.get(name)
    if op is None:
        raise StrategyError(path, f"unknown primitive {_short(primitive)}")
    if len(children) != op.arity:
        raise StrategyError(path, f"{primitive!r} takes {op.arity} children, got {len(children)}")
    return Call(
        name,
        tuple(
            _parse_legacy_node(c, f"{path}.children[{i}]", depth + 1, budget)
            for i, c in enumerate(children)
        ),
    )


# ---------------------------------------------------------------------------------- helpers


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any, path: str, what: str = "value") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrategyError(path, f"{what} must be a number, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise StrategyError(path, f"{what} is too large for a float") from None
    if not math.isfinite(number):
        raise StrategyError(path, f"{what} {value} is not finite")
    return number


def _no_unknown_keys(obj: dict[str, Any], allowed: frozenset[str], path: str) -> None:
    unknown: Sequence[str] = sorted(k for k in obj if k not in allowed)
    if unknown:
        raise StrategyError(path, f"unknown key {_short(unknown[0])}")


def _short(text: str, limit: int = 60) -> str:
    """``repr`` of a name from the file, cut so a hostile 1 MiB key cannot flood the log."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."
