"""asnd: the ASN trading daemon.

Layering: ``asnd.core`` is pure and deterministic (no I/O, no clocks, no trio) and builds only
on ``journal``; ``asnd.venues`` and ``asnd.actors`` wrap core in trio; the entry point modules
(``daemon``, ``ctl``, ``backtest``, ``config``) sit on top.
"""

from journal import __version__

__all__ = ["__version__"]
