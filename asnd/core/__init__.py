"""Pure deterministic state machines: book, features, strategy, matching, models, ledger,
watchtower rules, promotion rule. No I/O, no clocks, no trio: time and randomness come in as
events and seeds, so the same journal always yields the same decisions.

The daemon's state, for the live daemon, backtests and recovery alike:

- ``portfolio.DaemonState``: the whole state as a fold over journal events (``apply``),
  with ``snapshot``/``restore`` (layout in ``state_codec``).
- ``slot``: one model (strategy, sizing, trading policy, working orders);
  ``ledger`` and ``instrument``: its money in exact integers; ``link_id``: order link ids.
- ``watchtower``: pre-trade review, sudden death, kill and flatten.
- ``drive``: the in-memory journal loop (``Loop``), ``replay`` and ``recover``;
  ``backtest``: ``DaemonState`` against ``l2replay``; ``views``: status for ``asnctl``.
"""
