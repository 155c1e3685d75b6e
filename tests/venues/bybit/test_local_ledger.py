"""The local venue's position ledger keeps realised PnL exact across partial closes, as
Bybit does and as the daemon's ledger does (the end-to-end test compares the two)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from asnd.venues.bybit.local.ledger import LocalPosition
from journal.decimals import Scale


def test_a_partial_close_realises_its_exact_share_of_the_entry_value() -> None:
    position = LocalPosition(Scale("0.1"), Scale("0.001"))  # BTCUSDT's grid
    position.apply_fill(+1, 600_001, Decimal(0), now_ms=1)
    position.apply_fill(+1, 600_002, Decimal(0), now_ms=2)  # entry 600001.5 ticks
    closed = position.apply_fill(-1, 600_003, Decimal(0), now_ms=3)
    assert closed == 1
    # 1.5 ticks x 1 lot = 1.5 x 0.1 x 0.001 USDT; floored to whole tick-lots it was 0.0002.
    assert position.cum_realised == Decimal("0.00015")
    assert position.cost_ticks_lots == Fraction(1_200_003, 2)
    assert position.entry() == Decimal("60000.15")
    position.apply_fill(-1, 600_000, Decimal("0.01"), now_ms=4)  # flat: -1.5 ticks, fee
    assert position.cum_realised == Decimal("0.00015") - Decimal("0.00015") - Decimal("0.01")
    assert (position.lots, position.cost_ticks_lots) == (0, Fraction(0))
