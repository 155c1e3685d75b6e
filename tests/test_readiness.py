"""Readiness: each account state ASN must refuse gives a blocking finding that says what to
change, read from the local venue in that state through the real REST client."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import trio

from asnd.config import SlotConfig
from asnd.core.portfolio import CoreConfig, DaemonState
from asnd.core.slot import SlotConfig as CoreSlot
from asnd.readiness import (
    AccountNotReady,
    SlotsMoney,
    blocking,
    findings,
    journal_findings,
    refusal,
    slots_money,
)
from asnd.venues.bybit.account import AccountAnswers, read_account
from asnd.venues.bybit.credentials import Credentials
from asnd.venues.bybit.local.server import LocalBybit
from asnd.venues.bybit.rest import BybitRest
from asnd.venues.bybit.wire import PositionRow
from journal.events import BUY, SELL, Fill, InstrumentInfo

from .venues.bybit.bybit_helpers import KEY, SECRET, WAIT_S, local_bybit

MUTATING = {"/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/order/cancel-all"}


def slots(*symbols: str, capital: str = "200") -> tuple[SlotConfig, ...]:
    return tuple(
        SlotConfig(
            i, s, Path("x.json"), Decimal(capital), Decimal("0.01"), Decimal("1"), Decimal(1)
        )
        for i, s in enumerate(symbols)
    )


async def answers_of(venue: LocalBybit, symbols: tuple[str, ...]) -> AccountAnswers:
    with trio.fail_after(WAIT_S):
        async with BybitRest(venue.rest_url, Credentials(KEY, SECRET)) as rest:
            return await read_account(rest, symbols)


async def test_a_good_account_passes_every_check_with_read_only_calls() -> None:
    async with local_bybit() as venue:
        answers = await answers_of(venue, ("BTCUSDT", "ETHUSDT"))
        called = set(venue.rest.by_path)
    found = findings(answers, slots("BTCUSDT", "ETHUSDT"), 5000)
    assert blocking(found) == []
    checks = [f.check for f in found]
    assert checks == [
        "clock", "account", "slot 0 symbol BTCUSDT", "position mode BTCUSDT",
        "slot 1 symbol ETHUSDT", "position mode ETHUSDT", "balance",
    ]  # fmt: skip
    assert not called & MUTATING
    assert {"/v5/account/info", "/v5/position/list", "/v5/account/wallet-balance"} <= called


async def test_hedge_mode_is_refused_naming_one_way_mode() -> None:
    async with local_bybit() as venue:
        venue.exchange.mode.hedge = True
        answers = await answers_of(venue, ("BTCUSDT",))
    (bad,) = blocking(findings(answers, slots("BTCUSDT"), 5000))
    assert bad.check == "position mode BTCUSDT"
    assert bad.seen == "hedge mode (positionIdx 1, 2)"
    assert "one-way" in bad.change
    assert "One-Way" in bad.change


async def test_a_classic_account_is_refused() -> None:
    async with local_bybit() as venue:
        venue.exchange.mode.unified_status = 1
        answers = await answers_of(venue, ("BTCUSDT",))
    (bad,) = blocking(findings(answers, slots("BTCUSDT"), 5000))
    assert bad.check == "account"
    assert "unifiedMarginStatus 1" in bad.seen
    assert "Unified Trading Account" in bad.change


@pytest.mark.parametrize(
    ("setup", "seen"),
    [
        (lambda v: None, "Bybit lists no linear symbol of that name"),  # not listed at all
        (lambda v: v.exchange.mode.symbol_status.update(ETHUSDT="Closed"), "status Closed"),
        (
            lambda v: v.exchange.mode.contract_type.update(ETHUSDT="LinearFutures"),
            "a LinearFutures contract, not a perpetual",
        ),
    ],
    ids=["unknown", "suspended", "futures"],
)
async def test_a_symbol_that_is_not_a_trading_linear_usdt_perpetual_is_refused(
    setup: object, seen: str
) -> None:
    symbol = "SOLUSDT" if "lists no" in seen else "ETHUSDT"
    async with local_bybit() as venue:
        setup(venue)  # type: ignore[operator]
        answers = await answers_of(venue, ("BTCUSDT", symbol))
    (bad,) = blocking(findings(answers, slots("BTCUSDT", symbol), 5000))
    assert bad.check == f"slot 1 symbol {symbol}"
    assert bad.seen.startswith(seen)
    assert bad.change == "set slot[1].symbol to a linear USDT perpetual in Trading status"


async def test_a_balance_below_the_slots_capital_is_refused() -> None:
    async with local_bybit() as venue:
        venue.exchange.wallet.deposit = Decimal(350)
        answers = await answers_of(venue, ("BTCUSDT", "ETHUSDT"))
    assert blocking(findings(answers, slots("BTCUSDT", "ETHUSDT", capital="175"), 5000)) == []
    (bad,) = blocking(findings(answers, slots("BTCUSDT", "ETHUSDT", capital="200"), 5000))
    assert bad.check == "balance"
    assert "USDT equity 350" in bad.seen
    assert "capital 400" in bad.seen
    assert bad.change.startswith("transfer at least 50 USDT")


async def test_a_clock_off_by_more_than_the_recv_window_is_refused() -> None:
    async with local_bybit(clock_skew_ms=8000) as venue:
        answers = await answers_of(venue, ("BTCUSDT",))
    assert 7000 < answers.offset_ms < 9000
    assert blocking(findings(answers, slots("BTCUSDT"), 10_000)) == []
    (bad,) = blocking(findings(answers, slots("BTCUSDT"), 5000))
    assert bad.check == "clock"
    assert "timedatectl" in bad.change


async def test_the_refusal_is_one_line_naming_every_problem_and_its_change() -> None:
    async with local_bybit() as venue:
        venue.exchange.mode.hedge = True
        venue.exchange.wallet.deposit = Decimal(10)
        answers = await answers_of(venue, ("BTCUSDT",))
    line = refusal(findings(answers, slots("BTCUSDT"), 5000), "bybit-testnet")
    assert "\n" not in line
    assert line.startswith("refusing to trade on bybit-testnet: position mode BTCUSDT: hedge")
    assert "; balance: USDT equity 10" in line
    assert isinstance(AccountNotReady(line), Exception)


def test_journal_findings_report_foreign_orders_and_unknown_positions() -> None:
    from asnd.venues.bybit.wire import OrderRow

    def order(link: str) -> OrderRow:
        return OrderRow("BTCUSDT", "1", link, "Buy", "New")

    answers = AccountAnswers(
        0, 0, 6, "REGULAR_MARGIN", {}, {"BTCUSDT": [PositionRow("BTCUSDT", "Buy", "0.002")]},
        None, "", {"BTCUSDT": [order("asn-aaaaaaaa-0-1"), order("mine-0"), order("mine-1")]},
    )  # fmt: skip
    found = journal_findings(
        answers,
        owns=lambda link: link.startswith("mine"),
        known_links=frozenset({"mine-0"}),
        journal_positions={"BTCUSDT": Decimal("0.001")},
    )
    notes = [f for f in found if f.status == "note"]
    assert [n.seen for n in notes] == [
        "1 not of this journal: asn-aaaaaaaa-0-1",
        "1 of this journal it holds finished: mine-1",
    ]
    (bad,) = blocking(found)
    assert bad.check == "position BTCUSDT"
    assert bad.seen == "venue holds 0.002, the journal 0.001"
    flat = replace(answers, positions={"BTCUSDT": [PositionRow("BTCUSDT", "", "0")]})
    assert (
        blocking(journal_findings(flat, owns=bool, known_links=frozenset(), journal_positions={}))
        == []
    )


def test_the_local_venue_refuses_one_way_orders_in_hedge_mode() -> None:
    from asnd.venues.bybit.local.__main__ import INSTRUMENTS
    from asnd.venues.bybit.local.exchange import Exchange, ExchangeError

    ex = Exchange(INSTRUMENTS, clock_ms=lambda: 0)
    ex.mode.hedge = True
    with pytest.raises(ExchangeError, match="position idx not match position mode"):
        ex.create(
            symbol="BTCUSDT", side=BUY, order_type="Limit", qty_lots=1, price_ticks=90_000,
            tif="GTC", link_id="x",
        )  # fmt: skip
    assert [r["positionIdx"] for r in ex.position_rows("BTCUSDT")] == [1, 2]


def _traded_state(*fills: tuple[int, int]) -> DaemonState:
    """One BTCUSDT slot (200 USDT) that booked ``(side, price_ticks)`` fills of 10 lots."""
    config = CoreConfig(
        slots=(
            CoreSlot.from_decimals(
                "BTCUSDT", capital=Decimal(200), min_qty=Decimal("0.001"), max_qty=Decimal("1")
            ),
        )
    )
    state = DaemonState(config)
    state.apply(InstrumentInfo(1, 0, "bybit", "BTCUSDT", "0.5", "0.001", "0.001", "5"))
    for i, (side, price) in enumerate(fills):
        state.apply(
            Fill(2 + i, 0, 0, f"asn-0-{i}", str(i), f"e{i}", "BTCUSDT", side, price, 10, 0,
                 True, 0, 0)
        )  # fmt: skip
    return state


async def test_the_balance_a_restart_needs_is_the_slots_cash_not_their_first_capital() -> None:
    flat = _traded_state((BUY, 100_000), (SELL, 99_000))  # 0.01 BTC, 500 USDT lower: -5 USDT
    money = slots_money(flat, slots("BTCUSDT"))
    ledger = flat.slots[0].ledger
    assert ledger is not None
    cash = Decimal(ledger.cash_e8) / 10**8  # 200 - 5 - fees
    assert cash < 195
    assert money == SlotsMoney(cash, holding=False, what="cash")
    assert slots_money(None, slots("BTCUSDT")) == SlotsMoney(Decimal(200))
    async with local_bybit() as venue:
        venue.exchange.wallet.deposit = cash
        answers = await answers_of(venue, ("BTCUSDT",))
    assert blocking(findings(answers, slots("BTCUSDT"), 5000, money)) == []
    (bad,) = blocking(findings(answers, slots("BTCUSDT"), 5000))  # a new journal: capital
    assert bad.check == "balance"
    holding = slots_money(_traded_state((BUY, 100_000)), slots("BTCUSDT"))
    assert holding.holding
    short = replace(holding, needed=Decimal(1000))
    (note,) = [f for f in findings(answers, slots("BTCUSDT"), 5000, short) if f.check == "balance"]
    assert note.status == "note", "never refuse to manage open positions"


def test_a_malformed_wallet_answer_is_a_venue_error_naming_it() -> None:
    from asnd.venues.base import VenueError
    from asnd.venues.bybit.account import wallet_view

    row = {"accountType": "UNIFIED", "totalEquity": "1e3", "totalAvailableBalance": "oops"}
    with pytest.raises(VenueError, match="wallet-balance: not a number: 'oops'"):
        wallet_view({"list": [row]})
    assert wallet_view({"list": []}) is None
    view = wallet_view({"list": [{**row, "totalAvailableBalance": "5", "coin": []}]})
    assert view is not None
    assert view.usdt_equity is None
