"""Faults the local venue injects on demand, so tests can prove the client survives them.

Each field is a switch or a counter of how many times to misbehave; the servers consume them
(``take``) as they answer, so a test says "the next 2 creates time out" and then checks that
the client recovered by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Faults"]


@dataclass(slots=True)
class Faults:
    #: Public and private WebSocket streams send nothing at all (no data, no pongs).
    silent: bool = False
    #: Seconds to wait before sending each WebSocket frame or REST answer.
    delay_s: float = 0.0
    #: The next N public book deltas are not sent (the client sees a ``u`` gap).
    skip_u: int = 0
    #: The next N public frames are preceded by a malformed frame.
    malformed: int = 0
    #: The next N REST requests get HTTP 502.
    http_5xx: int = 0
    #: The next N signed REST requests get retCode 10006 with the rate-limit headers.
    rate_limited: int = 0
    #: The next N signed REST requests get retCode 10002 (as if our clock had drifted).
    time_window: int = 0
    #: The next N order creates are *executed* but the answer never comes (client times out).
    timeout_after_accept: int = 0
    #: How far the rate limit resets in the future, in ms, for ``rate_limited``.
    rate_limit_reset_ms: int = 200
    #: The next signed requests on ``code_path`` are answered with these retCodes, one each.
    ret_codes: list[int] = field(default_factory=list)
    code_path: str = "/v5/order/create"
    #: The request is executed before the code is answered (the venue acted; the client
    #: cannot tell), instead of answered without executing it.
    code_after_execute: bool = False
    #: The next REST requests get these HTTP statuses with a non-JSON body (403: IP ban).
    http_statuses: list[int] = field(default_factory=list)
    #: ``/v5/order/realtime`` shows no closed order at all, even by ``orderLinkId``: Bybit
    #: after a restart, when a unified account's closed orders are only in history.
    realtime_hides_closed: bool = False
    #: The private WebSocket is down: new connections are refused (HTTP 503) until cleared
    #: (a private-stream outage; cut the open ones with ``WsHub.drop("private")``).
    private_down: bool = False

    def take(self, name: str) -> bool:
        """Consume one occurrence of counter ``name``; True if the fault fires now."""
        left: int = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False

    def take_code(self, path: str) -> int | None:
        """The retCode to answer a request on ``path`` with now, if one is queued."""
        if path == self.code_path and self.ret_codes:
            return self.ret_codes.pop(0)
        return None
