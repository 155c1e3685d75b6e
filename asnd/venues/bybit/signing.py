"""Bybit v5 request signing (HMAC-SHA256, hex).

REST: ``HMAC_SHA256(secret, timestamp + api_key + recv_window + payload)`` where ``payload`` is
the exact query string sent (GET, unsorted, as it appears on the wire) or the exact JSON body
(POST). The venue checks ``server_time - recv_window <= timestamp < server_time + 1000``.
Private WebSocket auth: ``HMAC_SHA256(secret, "GET/realtime" + expires)`` with ``expires`` a
future time in ms. Both as documented in Bybit's v5 integration guide
(https://bybit-exchange.github.io/docs/v5/guide, "Create A Request").

The functions take the secret as bytes and are pure; ``Credentials`` is the only caller that
holds a secret, so nothing else ever needs to see it.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["rest_prehash", "sign_rest", "sign_ws_auth", "timestamp_in_window", "ws_prehash"]


def rest_prehash(timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str) -> str:
    """The string Bybit signs for a REST request (no secret in it)."""
    return f"{timestamp_ms}{api_key}{recv_window_ms}{payload}"


def ws_prehash(expires_ms: int) -> str:
    """The string Bybit signs for private WebSocket auth."""
    return f"GET/realtime{expires_ms}"


def _hmac_hex(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def sign_rest(
    secret: bytes, timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str
) -> str:
    """Hex HMAC-SHA256 for the ``X-BAPI-SIGN`` header."""
    return _hmac_hex(secret, rest_prehash(timestamp_ms, api_key, recv_window_ms, payload))


def sign_ws_auth(secret: bytes, expires_ms: int) -> str:
    """Hex HMAC-SHA256 for ``{"op": "auth", "args": [key, expires, signature]}``."""
    return _hmac_hex(secret, ws_prehash(expires_ms))


def timestamp_in_window(timestamp_ms: int, server_time_ms: int, recv_window_ms: int) -> bool:
    """Bybit's acceptance rule: ``server_time - recv_window <= timestamp < server_time + 1000``."""
    return server_time_ms - recv_window_ms <= timestamp_ms < server_time_ms + 1000
