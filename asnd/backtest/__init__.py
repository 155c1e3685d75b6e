"""``asnd backtest``: recorded journals through the daemon's own core, and its reports.

- ``inputs``: reading journals (market events, streaming; torn tails warned, damage refused);
- ``session``: one backtest run (``asnd.core.backtest.Backtest`` fed from ``inputs``), its
  outputs written as it goes (``record``) and plotted at the end (``plots``);
- ``parity``: a live journal's decisions reproduced decision by decision;
- ``calibrate``: our live orders re-simulated by the L2 replay, fills compared;
- ``cli``: the ``asnd backtest`` subcommand.
"""
