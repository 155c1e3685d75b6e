"""Feature names, their order in a row, and the window parameters (see the package doc)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["FEATURE_NAMES", "FeatureConfig", "FeatureRow"]

FEATURE_NAMES: tuple[str, ...] = (
    "imbalance",
    "pressure",
    "clv",
    "spread_ticks",
    "microprice_dev_ticks",
    "ofi",
    "volatility_ticks",
    "trade_flow",
)

#: One value per name in ``FEATURE_NAMES``, in that order.
FeatureRow: TypeAlias = tuple[float, float, float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Window sizes. A strategy must run live with the configuration it was evolved on."""

    depth: int = 5  # levels per side in ``pressure``
    book_window: int = 20  # rows in ``ofi`` and ``volatility_ticks``
    trade_window: int = 50  # trades in ``trade_flow``

    def __post_init__(self) -> None:
        for name in ("depth", "book_window", "trade_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"FeatureConfig.{name} must be at least 1")
