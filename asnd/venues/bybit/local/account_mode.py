"""How the local venue's account is set up: the modes a real Bybit account can be in.

By default the one account is what ASN needs (one-way position mode, a unified trading
account 2.0, every symbol a linear USDT perpetual in ``Trading`` status). Tests switch it to
each state ASN must refuse, and the venue then answers as Bybit does in that state:

- ``hedge``: ``/v5/position/list`` lists two rows per symbol (``positionIdx`` 1, the buy side,
  and 2, the sell side) and a create without ``positionIdx`` 1 or 2 is refused (10001
  "position idx not match position mode");
- ``unified_status``: ``/v5/account/info``'s ``unifiedMarginStatus`` (1: a classic account);
- ``symbol_status`` / ``contract_type``: a symbol's ``status`` (``PreLaunch``,
  ``Delivering``, ``Closed``) or ``contractType`` (``LinearFutures``) in instruments-info.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["UTA_2_PRO", "AccountMode"]

UTA_2_PRO: Final = 6  # Bybit's unifiedMarginStatus of a unified trading account 2.0 (pro)


@dataclass(slots=True)
class AccountMode:
    hedge: bool = False
    unified_status: int = UTA_2_PRO
    symbol_status: dict[str, str] = field(default_factory=dict)
    contract_type: dict[str, str] = field(default_factory=dict)

    def status_of(self, symbol: str) -> str:
        return self.symbol_status.get(symbol, "Trading")

    def contract_of(self, symbol: str) -> str:
        return self.contract_type.get(symbol, "LinearPerpetual")

    def position_indexes(self) -> tuple[int, ...]:
        """The ``positionIdx`` of the rows a symbol's position list holds."""
        return (1, 2) if self.hedge else (0,)
