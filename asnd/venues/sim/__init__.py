"""The simulated venue: an agent market on the matching engine that speaks Bybit's events.

- ``agents``: the ``Genome`` (the blueprint's Dominant Strategy Genome, extended) and the
  market makers, noise, momentum and mean-reversion traders it parameterises.
- ``market``: ``AgentMarket``, the pure seeded simulation (no I/O, no clock).
- ``venue``: ``SimVenue``, the trio ``Venue`` around it (wall-clock or as-fast-as-possible);
  ``SimVenue.for_symbols(symbols, seed)`` builds one from ``instruments``' preset grids.
"""

from asnd.venues.sim.agents import Genome
from asnd.venues.sim.instruments import sim_config_for
from asnd.venues.sim.market import AgentMarket, SimConfig
from asnd.venues.sim.venue import SimVenue

__all__ = ["AgentMarket", "Genome", "SimConfig", "SimVenue", "sim_config_for"]
