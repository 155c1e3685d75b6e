"""The ``asn-evolve`` entry point."""

from __future__ import annotations

import sys

from asnd._unbuilt import unbuilt


def main(argv: list[str] | None = None) -> int:
    return unbuilt("asn-evolve", "the evolution loop is issue 8")


if __name__ == "__main__":
    sys.exit(main())
