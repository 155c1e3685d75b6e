"""Bybit v5 signing, checked against the documented construction and an independent HMAC.

Bybit's v5 integration guide (https://bybit-exchange.github.io/docs/v5/guide, "Create A
Request") signs ``timestamp + API key + recv_window + (queryString | jsonBodyString)`` with
HMAC_SHA256 and hex-encodes it; its GET example is ``category=option&symbol=BTC-29JUL22-25000-C``
at timestamp 1658384314791 with recv window 5000. The guide publishes no secret, so the
expected signature is computed with ``openssl dgst -hmac`` (what the guide's shell sample uses),
an implementation independent of ours, plus a fixed vector recorded from it.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.signing import (
    rest_prehash,
    sign_rest,
    sign_ws_auth,
    timestamp_in_window,
    ws_prehash,
)

DOC_TIMESTAMP = 1658384314791
DOC_KEY = "XXXXXXXXXX"
DOC_QUERY = "category=option&symbol=BTC-29JUL22-25000-C"
SECRET = "YYYYYYYYYY"
#: openssl dgst -sha256 -hmac YYYYYYYYYY of the guide's GET example pre-hash string.
DOC_GET_SIGNATURE = "37813c67fafb3017e92354eb88f218e7e52a98f9f5eb74cfcf0b21f17edb143b"


def openssl_hmac(secret: str, message: str) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed: no independent HMAC to compare with")
    out = subprocess.run(
        [openssl, "dgst", "-sha256", "-hmac", secret, "-r"],
        input=message.encode(),
        capture_output=True,
        check=True,
        timeout=10,
    )
    return out.stdout.split()[0].decode()


def test_prehash_is_the_documented_concatenation() -> None:
    assert rest_prehash(DOC_TIMESTAMP, DOC_KEY, 5000, DOC_QUERY) == (
        "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"
    )
    assert ws_prehash(1662350400000) == "GET/realtime1662350400000"


def test_documented_get_example_signature() -> None:
    signature = sign_rest(SECRET.encode(), DOC_TIMESTAMP, DOC_KEY, 5000, DOC_QUERY)
    assert signature == DOC_GET_SIGNATURE
    assert signature == openssl_hmac(SECRET, rest_prehash(DOC_TIMESTAMP, DOC_KEY, 5000, DOC_QUERY))


def test_post_body_and_ws_auth_match_openssl() -> None:
    body = (
        '{"category":"linear","symbol":"BTCUSDT","side":"Buy",'
        '"orderType":"Limit","qty":"0.001","price":"50000"}'
    )
    creds = Credentials(DOC_KEY, SECRET)
    assert creds.sign_rest(DOC_TIMESTAMP, 5000, body) == openssl_hmac(
        SECRET, f"{DOC_TIMESTAMP}{DOC_KEY}5000{body}"
    )
    assert creds.sign_ws_auth(1662350400000) == openssl_hmac(SECRET, "GET/realtime1662350400000")
    assert sign_ws_auth(SECRET.encode(), 1662350400000) == creds.sign_ws_auth(1662350400000)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=0, max_size=60))
def test_any_change_of_payload_changes_the_signature(payload: str) -> None:
    a = sign_rest(b"secret", 1, "key", 5000, payload)
    b = sign_rest(b"secret", 1, "key", 5000, payload + "&")
    assert a != b
    assert len(a) == 64
    assert int(a, 16) >= 0


def test_recv_window_rule() -> None:
    """server_time - recv_window <= timestamp < server_time + 1000."""
    server, window = 1_000_000, 5000
    assert timestamp_in_window(server - window, server, window)
    assert not timestamp_in_window(server - window - 1, server, window)
    assert timestamp_in_window(server + 999, server, window)
    assert not timestamp_in_window(server + 1000, server, window)
