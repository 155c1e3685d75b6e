"""Alerts: halts, kills, resumes, deaths, liquidations, promotions, a lost feed and a daily
summary, sent to a webhook and to Telegram (README "Alerts").

- ``settings``: the ``[alerts]`` config section (imported by ``asnd.config``, so it imports
  nothing heavy);
- ``messages``: journaled events as human messages (pure);
- ``destinations``: the webhook and Telegram requests, their secrets;
- ``actor``: the bounded queues, rate limits, retries and timers (trio).

This package's ``__init__`` imports nothing: ``asnd check-config`` reads ``settings`` without
loading httpx or trio.
"""
