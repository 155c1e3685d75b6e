"""The simulated venue: the agent market (``asnd.core.agent_market``, pure) behind the trio
``Venue`` interface, speaking Bybit's events.

- ``venue``: ``SimVenue`` (wall-clock or as-fast-as-possible);
  ``SimVenue.for_symbols(symbols, seed)`` builds one from ``instruments``' preset grids.
- ``instruments``: the preset tick/lot grids and prices of the sim's symbols.
"""

from asnd.venues.sim.instruments import sim_config_for
from asnd.venues.sim.venue import SimVenue

__all__ = ["SimVenue", "sim_config_for"]
