"""Plausible trading rules for simulated symbols, so the default config's slots (BTC, ETH,
SOL, XRP, DOGE, BNB linear USDT perpetuals) trade on a familiar grid without network access.

The figures resemble Bybit's linear contracts (tick and lot steps) at round recent prices;
they are a simulation's starting point, not market data. Any other symbol gets a generic
grid (tick 0.0001, lot 1, price 1.0000).
"""

from __future__ import annotations

from typing import Final

from asnd.core.agent_market.market import SimConfig

__all__ = ["PRESETS", "sim_config_for"]

#: symbol -> (tick size, lot size, start price in ticks)
PRESETS: Final[dict[str, tuple[str, str, int]]] = {
    "BTCUSDT": ("0.1", "0.001", 600_000),  # 60,000.0
    "ETHUSDT": ("0.01", "0.01", 300_000),  # 3,000.00
    "SOLUSDT": ("0.01", "0.1", 15_000),  # 150.00
    "XRPUSDT": ("0.0001", "1", 20_000),  # 2.0000
    "DOGEUSDT": ("0.00001", "1", 40_000),  # 0.40000
    "BNBUSDT": ("0.01", "0.01", 60_000),  # 600.00
}
_GENERIC: Final = ("0.0001", "1", 10_000)


def sim_config_for(symbol: str, *, step_ns: int = 100_000_000) -> SimConfig:
    """The simulated market of ``symbol`` (a preset, or the generic grid)."""
    tick, lot, start = PRESETS.get(symbol, _GENERIC)
    return SimConfig(symbol=symbol, tick_size=tick, lot_size=lot, start_price_ticks=start,
                     step_ns=step_ns)  # fmt: skip
