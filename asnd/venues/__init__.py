"""Venues: ``bybit`` (the real exchange) and ``sim`` (the embedded agent market). Each offers
the small interface of ``asnd.venues.base``.
"""
