"""A raw line client for control-server tests: sends bytes, reads response lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio


class LineClient:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._buffer = bytearray()

    @classmethod
    async def connect(cls, path: Path) -> LineClient:
        return cls(await trio.open_unix_socket(str(path)))

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def line(self) -> dict[str, Any] | None:
        """The next response, or None when the server closed the connection."""
        with trio.fail_after(5):
            while b"\n" not in self._buffer:
                chunk = await self.stream.receive_some()
                if not chunk:
                    return None
                self._buffer += chunk
        raw, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        message: dict[str, Any] = json.loads(raw)
        return message

    async def request(self, cmd: str, args: dict[str, Any] | None = None, id: Any = 1) -> Any:
        message: dict[str, Any] = {"id": id, "cmd": cmd}
        if args is not None:
            message["args"] = args
        await self.send(json.dumps(message).encode() + b"\n")
        return await self.line()

    async def closed(self) -> bool:
        """True when the server has closed its side (reads EOF)."""
        with trio.fail_after(5):
            return await self.stream.receive_some() == b""

    async def aclose(self) -> None:
        await self.stream.aclose()
