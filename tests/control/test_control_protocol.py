"""The request parser: any line yields a request or a RequestError, never anything else."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.control.protocol import (
    KillRequest,
    ParsedRequest,
    RequestError,
    SwapRequest,
    encode_error,
    encode_request,
    encode_result,
    parse_request,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "cmd": st.sampled_from(["status", "swap", "kill", "resume", "challengers", "x"])
        | json_values,
        "args": st.fixed_dictionaries(
            {},
            optional={
                "slot": st.integers(-2, 8) | json_values,
                "file": json_values,
                "document": json_values,
            },
        )
        | json_values,
    },
)


CODES = {"bad_json", "bad_request", "unknown_command", "bad_args", "no_such_slot"}


def outcome(line: bytes) -> ParsedRequest | RequestError:
    """The parse result or the refusal; any other exception escapes and fails the test."""
    try:
        return parse_request(line, slot_count=6)
    except RequestError as exc:
        return exc


@settings(max_examples=150, deadline=None)
@given(requests)
def test_any_json_request_parses_or_is_refused_cleanly(message: dict[str, object]) -> None:
    parsed = outcome(json.dumps(message).encode())
    if isinstance(parsed, RequestError):
        assert parsed.code in CODES
        assert parsed.message
        return
    assert parsed.command == message["cmd"]
    request = parsed.request
    if isinstance(request, KillRequest | SwapRequest) and request.slot is not None:
        assert 0 <= request.slot < 6


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_parse_or_are_refused_cleanly(line: bytes) -> None:
    parsed = outcome(line)
    assert not isinstance(parsed, RequestError) or parsed.code in CODES


def test_encoders_write_one_json_line() -> None:
    result = encode_result(7, {"equity": Decimal("200.50"), "path": Path("/x"), "ids": {"b", "a"}})
    assert result.endswith(b"\n")
    assert result.count(b"\n") == 1
    assert json.loads(result) == {
        "id": 7,
        "ok": True,
        "result": {"equity": "200.50", "path": "/x", "ids": ["a", "b"]},
    }
    assert json.loads(encode_error(None, "bad_json", "x")) == {
        "id": None,
        "ok": False,
        "error": {"code": "bad_json", "message": "x"},
    }
    assert json.loads(encode_request(1, "kill", {"slot": "all"})) == {
        "id": 1,
        "cmd": "kill",
        "args": {"slot": "all"},
    }


def test_non_json_results_are_refused() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        encode_result(1, float("inf"))
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        encode_result(1, object())


@pytest.mark.parametrize(
    "line",
    [
        b'{"id": ' + b"1" * 5000 + b', "cmd": "status"}',
        b"[" * 20000,
        b'{"a": ' * 5000 + b"1" + b"}" * 5000,
        b'{"cmd": "kill", "args": {"slot": -1e999}}',
        b'{"cmd": "kill", "args": {"slot": NaN}}',
    ],
    ids=["5000-digit id", "20000 brackets", "5000 nested objects", "-1e999", "NaN"],
)
def test_absurd_json_is_bad_json_not_a_crash(line: bytes) -> None:
    """Issue 14: ValueError/RecursionError escaped the parser; the connection died unanswered."""
    parsed = outcome(line)
    assert isinstance(parsed, RequestError)
    assert parsed.code == "bad_json"
    assert parsed.message.startswith("request is not valid JSON")
    assert len(encode_error(parsed.request_id, parsed.code, parsed.message)) < 400
