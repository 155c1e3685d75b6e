"""The agent market: market makers, noise, momentum and mean-reversion traders on the
matching engine, parameterised by a genome. Pure and seeded (no I/O, no clock, no trio), so
evolution's adversarial fitness and CMA-ES calibration run it directly, and the sim venue
(``asnd.venues.sim``) wraps it in trio for the daemon.

- ``agents``: the ``Genome`` (the blueprint's Dominant Strategy Genome, extended) and the
  traders it parameterises.
- ``market``: ``AgentMarket``, the simulation that speaks Bybit's events, and ``SimConfig``.
"""

from asnd.core.agent_market.agents import Genome
from asnd.core.agent_market.market import AgentMarket, SimConfig

__all__ = ["AgentMarket", "Genome", "SimConfig"]
