"""Paper trading on Bybit's public market data: ``venue.kind = "bybit-paper"``.

Layering::

    latency     the seeded order-entry latency (an ``l2replay.LatencyModel``)
    venue       ``PaperVenue``: the public feed (``bybit.public_ws``) + one ``L2Replay`` per
                symbol answering place/cancel/lookup/reconcile

No second fill model: fills are the L2 replay's, as in ``asnd backtest`` and shadows, so a
paper journal can be checked with ``asnd backtest --verify-against-live`` and ``--calibrate``.
"""

from asnd.venues.paper.venue import PaperConfig, PaperVenue

__all__ = ["PaperConfig", "PaperVenue"]
