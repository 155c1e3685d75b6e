"""The ``asnctl`` entry point."""

from __future__ import annotations

import sys

from asnd._unbuilt import unbuilt


def main(argv: list[str] | None = None) -> int:
    return unbuilt("asnctl", "the control socket is issue 6")


if __name__ == "__main__":
    sys.exit(main())
