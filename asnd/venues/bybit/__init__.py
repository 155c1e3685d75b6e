"""Bybit v5: public and private WebSocket feeds, the signed REST client, and ``BybitVenue``.

Layering (each module one concept; lower ones know nothing of higher ones)::

    signing, codes, wire                        pure: HMAC, retCodes, frame shapes
                                                (backoff: asnd.backoff, one rule for all)
                                                (orderLinkIds: asnd.core.link_id)
    credentials                                 the only holder of the API secret
    parse                                       frames/rows -> journal events (exact ticks/lots)
    retry                                       the one retry helper (policy in exception types)
    rest                                        signed REST over httpx; server-time offset
    account                                     read-only account questions (mode, balance)
    connection                                  WebSocket reconnect discipline (ping, silence)
    public_ws, private_ws                       the two feeds
    venue                                       BybitVenue: the ``Venue`` protocol
    local/                                      a Bybit-compatible venue on loopback, for tests
                                                and for running without keys

Typical use::

    config = BybitConfig(settings.rest_url, settings.ws_public_url, settings.ws_private_url,
                         symbols=("BTCUSDT",), recv_window_ms=settings.recv_window_ms)
    async with BybitVenue(config, load_credentials()) as venue:   # REST client + clock
        await nursery.start(venue.run, journal_send_channel)
        answer = await venue.place(intent)   # OrderAccepted | OrderRejected, idempotent
"""

from asnd.venues.bybit.credentials import Credentials, load_credentials
from asnd.venues.bybit.venue import BybitConfig, BybitVenue

__all__ = ["BybitConfig", "BybitVenue", "Credentials", "load_credentials"]
