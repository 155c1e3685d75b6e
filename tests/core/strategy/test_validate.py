"""Loading strategy documents: v1, the blueprint's legacy format, and hostile input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asnd.core.features import FEATURE_NAMES
from asnd.core.strategy import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_NODES,
    Call,
    Const,
    FeatureRef,
    Metadata,
    Node,
    StrategyDocument,
    StrategyError,
    StrategyParams,
    compile_scalar,
    compile_strategy,
    parse_strategy,
    to_json,
)
from asnd.core.strategy.document import node_to_json
from tests.core.strategy.trees import trees


def v1(signal: Any, size: Any = None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "asn-strategy",
        "version": 1,
        "id": "test-1",
        "features": list(FEATURE_NAMES),
        "signal": signal,
        "size": size if size is not None else {"const": 0.0},
    }
    doc.update(extra)
    return doc


def rejects(doc: Any) -> StrategyError:
    data = doc if isinstance(doc, str | bytes) else json.dumps(doc)
    with pytest.raises(StrategyError) as info:
        parse_strategy(data)
    return info.value


def row(**values: float) -> list[float]:
    out = [0.0] * len(FEATURE_NAMES)
    for name, value in values.items():
        out[FEATURE_NAMES.index(name)] = value
    return out


# ------------------------------------------------------------------------------ blueprint


def test_blueprint_strategy_json_loads_and_evaluates_as_add_of_features_0_and_1(
    shared_data: Path,
) -> None:
    data = (shared_data.parent / "blueprint" / "strategy.json").read_bytes()
    doc = parse_strategy(data)
    assert doc.source_version == 0
    assert doc.signal == Call("add", (FeatureRef("imbalance"), FeatureRef("pressure")))
    assert doc.id.startswith("legacy-")
    assert parse_strategy(data).id == doc.id  # the id is a stable digest of the file
    strategy = compile_strategy(doc)
    assert strategy.signal(row(imbalance=0.25, pressure=0.5, clv=0.9)) == 0.75
    assert strategy.size(row()) == 0.0  # the neutral middle of the size range


def test_legacy_nested_tree_from_the_blueprint_interpreter_tests() -> None:
    # nexus gp_interpreter test_nested_evaluation: (F0 + F1) * 2 with F = (3, 4) -> 14.
    text = """{"root": {"primitive": "mul", "children": [
        {"primitive": "add", "children": [
            {"primitive": {"Feature": 0}, "children": []},
            {"primitive": {"Feature": 1}, "children": []}]},
        {"primitive": {"Constant": 2.0}, "children": []}]}}"""
    doc = parse_strategy(text)
    assert compile_scalar(doc.signal)(row(imbalance=3.0, pressure=4.0)) == 14.0


def test_legacy_accepts_deaps_if_then_else_name_and_every_blueprint_primitive() -> None:
    leaf = {"primitive": {"Feature": 2}, "children": []}
    ite = {"primitive": "if_then_else", "children": [leaf, leaf, leaf]}
    for name in ("add", "sub", "mul", "protectedDiv"):
        parse_strategy(json.dumps({"root": {"primitive": name, "children": [ite, leaf]}}))
    doc = parse_strategy(json.dumps({"root": {"primitive": "neg", "children": [ite]}}))
    assert doc.signal == Call("neg", (Call("ifThenElse", (FeatureRef("clv"),) * 3),))


@pytest.mark.parametrize(
    ("root", "path", "message"),
    [
        ({"primitive": {"Feature": 3}, "children": []}, "root", "Feature index must be 0..2"),
        (
            {"primitive": "add", "children": [{"primitive": "pow", "children": []}, 1]},
            "root.children[0]",
            "unknown primitive 'pow'",
        ),
        ({"primitive": "add", "children": []}, "root", "takes 2 children, got 0"),
        ({"primitive": {"Constant": "x"}, "children": []}, "root", "must be a number"),
        ({"primitive": {"Feature": 0}}, "root", "needs 'primitive' and 'children'"),
    ],
)
def test_legacy_errors_name_the_node(root: Any, path: str, message: str) -> None:
    err = rejects({"root": root})
    assert err.path == path
    assert message in str(err)
    assert str(err).startswith(f"{path}: ")


# ------------------------------------------------------------------------------ format v1


def test_v1_document_round_trips_through_to_json() -> None:
    doc = StrategyDocument(
        id="momentum-7",
        features=("imbalance", "ofi"),
        signal=Call("sub", (FeatureRef("imbalance"), Const(0.5))),
        size=Call("tanh", (FeatureRef("ofi"),)),
        params=StrategyParams(entry_long=0.6, entry_short=-0.4, size_min=0.1, size_max=0.9),
        metadata=Metadata(
            lineage=("momentum-3", "momentum-5"),
            fitness={"causal": 1.5, "adversarial": -0.25},
            data_start="2024-12-01T00:00:00Z",
            data_end="2024-12-02T00:00:00Z",
            seed=42,
            created="2026-11-23T12:00:00Z",
        ),
    )
    assert parse_strategy(to_json(doc)) == doc


def test_v1_defaults_for_params_and_metadata() -> None:
    doc = parse_strategy(json.dumps(v1({"feature": "clv"})))
    assert doc.params == StrategyParams(0.5, -0.5, 0.0, 1.0)
    assert doc.metadata == Metadata()


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        (
            v1({"op": "add", "args": [{"feature": "ofi"}, {"op": "pow", "args": []}]}),
            "signal.args[1]",
            "unknown op 'pow'",
        ),
        (v1({"op": "neg", "args": []}), "signal", "op 'neg' takes 1 args, got 0"),
        (v1({"const": 1}, {"feature": "price"}), "size", "unknown feature 'price'"),
        (v1({"const": "1"}), "signal", "const must be a number"),
        (v1({"const": True}), "signal", "const must be a number"),
        (v1({"const": 10**400}), "signal", "too large"),
        (v1({"const": 1, "feature": "ofi"}), "signal", "has both 'feature' and 'const'"),
        (v1({"const": 1, "x": 2}), "signal", "unknown key 'x'"),
        (v1({"frobnicate": 1}), "signal", "needs one of"),
        (v1([]), "signal", "node must be an object"),
        (v1({"feature": "ofi"}, features=["clv"]), "signal", "not in the document's features"),
        (v1({"const": 1}, features=["clv", "clv"]), "features[1]", "listed twice"),
        (v1({"const": 1}, features=["clv", "nope"]), "features[1]", "unknown feature 'nope'"),
        (v1({"const": 1}, params={"entry_long": -1.0}), "params", "must not exceed"),
        (v1({"const": 1}, params={"size_range": [0.5, 2]}), "params.size_range", "<= 1"),
        (v1({"const": 1}, params={"leverage": 2}), "params", "unknown key 'leverage'"),
        (v1({"const": 1}, metadata={"seed": 1.5}), "metadata.seed", "must be an integer"),
        (v1({"const": 1}, metadata={"fitness": {"x": None}}), "metadata.fitness.x", "number"),
        (v1({"const": 1}, version=2), "version", "unsupported version 2"),
        (v1({"const": 1}, format="other"), "format", "expected 'asn-strategy'"),
        (v1({"const": 1}, id=""), "id", "must be 1-128 of"),
        (v1({"const": 1}, id="../../etc/passwd"), "id", "must be 1-128 of"),
        (v1({"const": 1}, id="a" * 129), "id", "must be 1-128 of"),
        (v1({"const": 1}, id="a\n"), "id", "must be 1-128 of"),
        ({"format": "asn-strategy", "version": 1, "id": "x", "features": []}, "signal", "missing"),
        (v1({"const": 1}, extra=1), "", "unknown key 'extra'"),
    ],
)
def test_v1_errors_name_the_node(doc: Any, path: str, message: str) -> None:
    err = rejects(doc)
    assert err.path == path
    assert message in str(err)


def test_a_number_literal_that_overflows_to_infinity_is_not_finite() -> None:
    err = rejects(json.dumps(v1({"const": 12345.0})).replace("12345.0", "1e400"))
    assert err.path == "signal"
    assert "inf is not finite" in str(err)


def chain(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"feature": "ofi"}
    for _ in range(depth):
        node = {"op": "neg", "args": [node]}
    return node


def test_depth_limit_is_17_and_the_error_names_the_first_node_too_deep() -> None:
    parse_strategy(json.dumps(v1(chain(MAX_DEPTH))))
    err = rejects(v1(chain(MAX_DEPTH + 1)))
    assert err.path == "signal" + ".args[0]" * (MAX_DEPTH + 1)
    assert f"deeper than {MAX_DEPTH}" in str(err)


def balanced(nodes_wanted: int) -> dict[str, Any]:
    """A tree of exactly ``nodes_wanted`` nodes (odd), shallow enough for the depth limit."""
    leaves: list[dict[str, Any]] = [{"feature": "clv"}] * ((nodes_wanted + 1) // 2)
    while len(leaves) > 1:
        paired = [
            {"op": "add", "args": [a, b]} for a, b in zip(leaves[::2], leaves[1::2], strict=False)
        ]
        leaves = paired + ([leaves[-1]] if len(leaves) % 2 else [])
    return leaves[0]


def test_node_limit_is_512_per_tree() -> None:
    at_limit = {"op": "neg", "args": [balanced(511)]}
    parse_strategy(json.dumps(v1(at_limit, at_limit)))  # 512 nodes in each tree
    err = rejects(v1(balanced(7), {"op": "neg", "args": [at_limit]}))
    assert f"more than {MAX_NODES} nodes" in str(err)
    assert err.path.startswith("size.args[0].args[0]")


def test_file_size_limit_is_one_mebibyte() -> None:
    base = json.dumps(v1({"const": 1}, metadata={"created": ""}))
    pad = MAX_DOCUMENT_BYTES - len(base)
    at_limit = base.replace('"created": ""', '"created": "' + "x" * pad + '"')
    assert len(at_limit.encode()) == MAX_DOCUMENT_BYTES
    parse_strategy(at_limit)
    err = rejects(at_limit.replace('"x', '"xx'))
    assert "larger than 1048576 bytes" in str(err)
    assert err.path == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 100_000, "nested too deeply"),
        ('{"root": {"primitive": {"Constant": NaN}, "children": []}}', "NaN is not allowed"),
        ('{"root": 1, "root": 2}', "duplicate key 'root'"),
        ("[1, 2]", "must be a JSON object"),
        ("{", "invalid JSON"),
        ("1" * 5000, "invalid JSON"),  # beyond Python's int-digits limit
        ("\ud800", "not valid Unicode"),
    ],
)
def test_unreadable_files_fail_with_a_clear_message(data: str | bytes, message: str) -> None:
    assert message in str(rejects(data))


def test_file_text_is_never_evaluated() -> None:
    err = rejects(v1({"op": "__import__('os').system('false')", "args": []}))
    assert "unknown op" in str(err)


# ------------------------------------------------------------------------ property tests


def _paths(node: Any, path: str) -> list[tuple[str, list[str | int]]]:
    """Every node's (error path, JSON access keys) in a v1 tree."""
    out: list[tuple[str, list[str | int]]] = [(path, [])]
    for i, child in enumerate(node.get("args", [])):
        for sub_path, keys in _paths(child, f"{path}.args[{i}]"):
            out.append((sub_path, ["args", i, *keys]))
    return out


INVALID_NODES = [
    {"op": "pow", "args": []},
    {"op": "add", "args": [{"const": 1}]},
    {"const": float("inf")},
    {"const": "x"},
    {"feature": "price"},
    {"feature": 3},
    {"op": 7, "args": []},
    {"op": "neg", "args": {"x": 1}},
    {},
    None,
    "add",
    [1, 2],
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=trees,
    which=st.sampled_from(["signal", "size"]),
    pick=st.integers(0, 10_000),
    bad=st.sampled_from(INVALID_NODES),
)
def test_every_invalid_node_is_rejected_with_a_message_naming_it(
    tree: Node, which: str, pick: int, bad: Any
) -> None:
    doc = v1(node_to_json(tree), node_to_json(tree))
    paths = _paths(doc[which], which)
    path, keys = paths[pick % len(paths)]
    if not keys:
        doc[which] = bad
    else:
        parent = doc[which]
        for key in keys[:-1]:
            parent = parent[key]
        parent[keys[-1]] = copy.deepcopy(bad)
    text = json.dumps(doc).replace("Infinity", "1e999")  # a finite-looking literal that is inf
    with pytest.raises(StrategyError) as info:
        parse_strategy(text)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")


@settings(max_examples=100, deadline=None)
@given(tree=trees)
def test_every_valid_tree_round_trips(tree: Node) -> None:
    doc = StrategyDocument("t", FEATURE_NAMES, tree, tree)
    assert parse_strategy(to_json(doc, indent=None)) == doc


FUZZ_KEYS = [
    *("root", "primitive", "children", "Feature", "Constant", "op", "args", "feature", "const"),
    *("format", "version", "id", "features", "signal", "size", "params", "metadata"),
    *("size_range", "entry_long", "lineage", "fitness", "x"),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(FUZZ_KEYS),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


def _only_strategy_errors(data: str | bytes) -> None:
    try:
        doc = parse_strategy(data)
    except StrategyError as err:
        message = str(err)
    else:
        # Whatever loads must compile and evaluate.
        compile_strategy(doc).signal([0.5] * len(FEATURE_NAMES))
        message = "loaded"
    assert message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_bytes_never_crash_the_loader(data: bytes) -> None:
    _only_strategy_errors(data)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_json_shapes_never_crash_the_loader(value: Any) -> None:
    _only_strategy_errors(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(
    value=json_values,
    where=st.sampled_from(["signal", "size", "params", "metadata", "features", "id", "version"]),
)
def test_fuzz_v1_fields_never_crash_the_loader(value: Any, where: str) -> None:
    doc = v1({"feature": "clv"})
    doc[where] = value
    _only_strategy_errors(json.dumps(doc))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=5))
def test_fuzz_byte_flips_of_a_valid_document_never_crash_the_loader(
    flips: list[tuple[int, int]],
) -> None:
    data = bytearray(
        to_json(
            StrategyDocument(
                "flip",
                ("imbalance", "clv"),
                Call("ifThenElse", (FeatureRef("clv"), Const(1.5), FeatureRef("imbalance"))),
                Call("protectedDiv", (Const(1.0), FeatureRef("clv"))),
            )
        ).encode()
    )
    for at, byte in flips:
        data[at % len(data)] = byte
    _only_strategy_errors(bytes(data))
