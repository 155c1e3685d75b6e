"""The local Bybit-compatible venue checks what Bybit checks, over raw sockets: WebSocket auth
(key, expiry, signature), topics, pings; and REST signatures over the exact bytes sent."""

from __future__ import annotations

import json

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from asnd.venues.bybit.signing import sign_rest, sign_ws_auth

from .bybit_helpers import KEY, SECRET, WAIT_S, local_bybit


async def ws_request(url: str, *frames: dict[str, object]) -> list[dict[str, object]]:
    answers = []
    with trio.fail_after(WAIT_S):
        async with open_websocket_url(url) as ws:
            for frame in frames:
                await ws.send_message(json.dumps(frame))
                answers.append(json.loads(await ws.get_message()))
    return answers


@pytest.mark.parametrize(
    ("key", "secret", "expires_in_ms", "code", "message"),
    [
        (KEY, SECRET, 10_000, 0, ""),
        ("nobody", SECRET, 10_000, 10003, "Invalid apikey"),
        (KEY, "not-the-secret", 10_000, 10004, "Invalid sign"),
        (KEY, SECRET, -1_000, 10002, "expires is in the past"),
    ],
)
async def test_private_auth(
    key: str, secret: str, expires_in_ms: int, code: int, message: str
) -> None:
    async with local_bybit() as venue:
        expires = venue.server_ms() + expires_in_ms
        auth: dict[str, object] = {
            "op": "auth",
            "args": [key, expires, sign_ws_auth(secret.encode(), expires)],
        }
        subscribe: dict[str, object] = {
            "op": "subscribe",
            "args": ["order", "execution", "position"],
        }
        answer, sub = await ws_request(venue.private_url, auth, subscribe)
    assert answer["op"] == "auth"
    assert answer["retCode"] == code
    assert answer["success"] is (code == 0)
    assert message in str(answer["retMsg"])
    assert sub["success"] is (code == 0)  # no private topic without a successful auth


async def test_public_topics_and_ping() -> None:
    async with local_bybit() as venue:
        ping, bad = await ws_request(
            venue.public_url,
            {"op": "ping"},
            {"op": "subscribe", "args": ["orderbook.50.NOPEUSDT"]},
        )
    assert (ping["op"], ping["ret_msg"], ping["success"]) == ("ping", "pong", True)
    assert bad["success"] is False
    assert "Invalid topic" in str(bad["ret_msg"])


async def test_rest_signature_covers_the_exact_query_string() -> None:
    async with local_bybit() as venue, httpx.AsyncClient(base_url=venue.rest_url) as client:
        ts = venue.server_ms()
        signed = "category=linear&symbol=BTCUSDT"
        headers = {
            "X-BAPI-API-KEY": KEY,
            "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-RECV-WINDOW": "5000",
            "X-BAPI-SIGN": sign_rest(SECRET.encode(), ts, KEY, 5000, signed),
        }
        with trio.fail_after(WAIT_S):
            ok = (await client.get(f"/v5/position/list?{signed}", headers=headers)).json()
            reordered = "symbol=BTCUSDT&category=linear"  # same parameters, other bytes
            bad = (await client.get(f"/v5/position/list?{reordered}", headers=headers)).json()
            old = {**headers, "X-BAPI-TIMESTAMP": str(ts - 6000)}
            stale = (await client.get(f"/v5/position/list?{signed}", headers=old)).json()
    assert ok["retCode"] == 0
    assert bad["retCode"] == 10004
    assert stale["retCode"] == 10002


@pytest.mark.parametrize(
    ("qty", "why"),
    [
        ("Infinity", "qty: 'Infinity' is not a plain decimal number"),
        ("1e999", "qty: '1e999' is not a plain decimal number"),
        ("9" * 1008, "qty: '999999999999999999999999... (1008 chars)' is not a plain decimal"),
        ("-1", "qty: '-1' is negative"),
        (1, "qty: int where a decimal string belongs"),
    ],
)
async def test_absurd_order_numbers_are_params_errors(qty: object, why: str) -> None:
    async with local_bybit() as venue, httpx.AsyncClient(base_url=venue.rest_url) as client:
        order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                 "qty": qty, "price": "27000.0", "orderLinkId": "asn-0-1"}  # fmt: skip
        answers = []
        for body in (json.dumps(order), json.dumps({**order, "qty": "0.001"})):
            ts = venue.server_ms()
            headers = {
                "X-BAPI-API-KEY": KEY,
                "X-BAPI-TIMESTAMP": str(ts),
                "X-BAPI-RECV-WINDOW": "5000",
                "X-BAPI-SIGN": sign_rest(SECRET.encode(), ts, KEY, 5000, body),
                "Content-Type": "application/json",
            }
            with trio.fail_after(WAIT_S):
                answers.append(
                    (await client.post("/v5/order/create", content=body, headers=headers)).json()
                )
    refused, accepted = answers
    assert refused["retCode"] == 10001
    assert why in refused["retMsg"]
    assert accepted["retCode"] == 0, "the venue still takes a good order"
