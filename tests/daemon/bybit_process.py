"""The local Bybit-compatible venue as its own process, for end-to-end tests of the daemon.

``LocalVenueProcess`` runs ``python -m asnd.venues.bybit.local --symbols all --moving --admin``
(real sockets on loopback, a moving book that trades) and talks to it over its stdin/stdout
admin channel (``asnd.venues.bybit.local.admin``). ``bybit_config`` turns the harness's config
into a ``venue.kind = "bybit-testnet"`` config whose endpoints point at that venue; the key and
secret reach both processes through the environment variables the daemon reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from asnd.venues.bybit.credentials import ENV_KEY, ENV_SECRET

from .harness import REPO, make_config

KEY = "e2e-key-0001"
SECRET = "E2E-SECRET-5a4b3c2d1e0f"  # made up; the tests look for it in every output


def credentials_env() -> dict[str, str]:
    return {ENV_KEY: KEY, ENV_SECRET: SECRET}


class LocalVenueProcess:
    def __init__(self, *, seed: int = 1, step_ms: int = 100) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), **credentials_env()}
        command = [sys.executable, "-m", "asnd.venues.bybit.local", "--symbols", "all"]
        command += ["--moving", "--admin", "--seed", str(seed), "--step-ms", str(step_ms)]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self.urls: dict[str, str] = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"local venue exited with {self.proc.wait(10)}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def command(self, op: str, **args: object) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        assert answer["ok"], answer
        return answer

    def state(self) -> dict[str, Any]:
        return self.command("state")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # EOF on the admin channel stops the venue
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def bybit_config(root: Path, venue: LocalVenueProcess, **overrides: str) -> Path:
    """The default six-slot config on ``bybit-testnet``, its endpoints on ``venue``."""
    urls = venue.urls
    return make_config(
        root,
        kind='"bybit-testnet"',
        rest_url=json.dumps(urls["rest_url"]),
        ws_public_url=json.dumps(urls["public_ws_url"]),
        ws_private_url=json.dumps(urls["private_ws_url"]),
        # An order killed between its intent and its create is "not found" only after the
        # recv window: 2 s instead of 5 keeps a restart that waits for one short.
        recv_window_ms="2000",
        **overrides,
    )
