"""Entry points whose capability has not been built yet say so and fail, never fake output."""

from __future__ import annotations

import sys


def unbuilt(command: str, issue: str) -> int:
    print(
        f"{command}: not built yet ({issue}). Nothing was done.",
        file=sys.stderr,
    )
    return 2
