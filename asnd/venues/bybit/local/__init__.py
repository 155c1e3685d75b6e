"""A Bybit-compatible venue on loopback: REST and public/private WebSocket, backed by the core
matching engine, checking keys, signatures, recv windows and timestamps as Bybit does, and
injecting faults on demand (``Faults``). ``python -m asnd.venues.bybit.local`` runs one.
"""

from asnd.venues.bybit.local.faults import Faults
from asnd.venues.bybit.local.server import LocalBybit

__all__ = ["Faults", "LocalBybit"]
