"""Is this Bybit account fit to trade on? A pure judgement of the venue's answers.

``findings(answers, slots, recv_window_ms)`` turns what ``asnd.venues.bybit.account`` read
into one ``Finding`` per check: what was seen and, where something must change, one line
saying what to change. The daemon refuses to trade on any blocking finding
(``AccountNotReady``, one line, at start-up); ``asnd check-venue`` prints them all as a
table. One definition of every rule, for both:

- **position mode**: ASN supports Bybit's *one-way* mode only (``positionIdx`` 0: one net
  position per symbol, which is what a slot's ledger is). In hedge mode Bybit keeps a buy and
  a sell position per symbol (``positionIdx`` 1 and 2) and refuses orders without a
  ``positionIdx``; a slot's reduce-only and reconciliation would be wrong there.
- **account**: a unified trading account (``unifiedMarginStatus`` 3-6): the wallet, margin
  and order endpoints ASN uses are the unified account's.
- **symbols**: each slot's symbol must be a linear USDT perpetual in ``Trading`` status.
- **balance**: the USDT equity must cover what the slots hold: their total capital on a new
  journal, their cash (capital plus realised PnL less fees) on one that traded; with
  positions open a shortfall is only noted (their unrealised PnL is in the equity, and a
  refusal would leave them unmanaged).
- **clock**: the local clock within ``recv_window_ms`` of Bybit's (signing compensates the
  offset, but journal times, daily brakes and every other stamp use the local clock).

``journal_findings`` adds, for ``check-venue``, the open orders and positions the journal does
not know (another journal's or manual orders are reported, not blocking; a position the
journal does not hold is blocking: the daemon would halt on it at reconciliation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from asnd.config import SlotConfig
from asnd.core.instrument import E8
from asnd.core.portfolio import DaemonState
from asnd.venues.base import NeedsHumanError
from asnd.venues.bybit.account import UNIFIED_STATUSES, AccountAnswers

__all__ = [
    "AccountNotReady",
    "Finding",
    "SlotsMoney",
    "blocking",
    "findings",
    "journal_findings",
    "refusal",
    "slots_money",
]

Status = Literal["ok", "change", "note"]

LINEAR_PERPETUAL: Final = "LinearPerpetual"
SETTLE_COIN: Final = "USDT"
TRADING: Final = "Trading"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # what was checked, e.g. "position mode BTCUSDT"
    status: Status  # "change": trading must not start; "note": worth knowing
    seen: str  # what the venue said
    change: str = ""  # one line: what to change ("" when nothing must)


class AccountNotReady(NeedsHumanError):
    """The account must change before the daemon may trade (the message says how)."""


def blocking(found: Sequence[Finding]) -> list[Finding]:
    return [f for f in found if f.status == "change"]


def refusal(found: Sequence[Finding], venue: str) -> str:
    """The one-line start-up refusal naming every blocking finding and its change."""
    parts = [f"{f.check}: {f.seen}: {f.change}" for f in blocking(found)]
    return f"refusing to trade on {venue}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class SlotsMoney:
    """What the slots need in USDT equity: their capital on a new journal, their cash (capital
    plus realised PnL less fees) on a journal that traded. ``holding``: some slot holds a
    position, whose unrealised PnL is in the venue's equity but not in ``needed``."""

    needed: Decimal
    holding: bool = False
    what: str = "capital"  # "cash" once the journal has traded


def slots_money(state: DaemonState | None, slots: Sequence[SlotConfig]) -> SlotsMoney:
    """``SlotsMoney`` from the journal's state (None: a new journal)."""
    if state is None:
        return SlotsMoney(sum((s.capital for s in slots), Decimal(0)))
    needed, holding, traded = Decimal(0), False, False
    for slot, config in zip(state.slots, slots, strict=True):
        ledger = slot.ledger
        if ledger is None or ledger.cash_e8 == config.capital * E8:  # as it started
            needed += config.capital
        else:
            needed += Decimal(ledger.cash_e8) / E8
            traded = True
        holding = holding or (ledger is not None and ledger.position_lots != 0)
    return SlotsMoney(needed, holding, "cash" if traded else "capital")


def findings(
    answers: AccountAnswers,
    slots: Sequence[SlotConfig],
    recv_window_ms: int,
    money: SlotsMoney | None = None,
) -> list[Finding]:
    """Every check, in the order a user fixes them: clock, account, symbols, mode, money.
    ``money``: what the journal's slots need (default: their capital, a new journal)."""
    out = [_clock(answers.offset_ms, recv_window_ms), _account(answers)]
    for slot in slots:
        out.append(_symbol(answers, slot))
        mode = _position_mode(answers, slot.symbol)
        if mode is not None:
            out.append(mode)
    out.append(_balance(answers, money or slots_money(None, slots)))
    return out


def _clock(offset_ms: int, recv_window_ms: int) -> Finding:
    seen = f"local clock {-offset_ms:+d} ms from Bybit's"
    if abs(offset_ms) <= recv_window_ms:
        return Finding("clock", "ok", seen)
    return Finding(
        "clock",
        "change",
        f"{seen} (more than recv_window_ms {recv_window_ms})",
        "synchronise the system clock (e.g. `timedatectl set-ntp true`)",
    )


def _account(answers: AccountAnswers) -> Finding:
    status = answers.unified_status
    if status in UNIFIED_STATUSES:
        seen = f"unified trading account (unifiedMarginStatus {status}, {answers.margin_mode})"
        return Finding("account", "ok", seen)
    seen = (
        "no unifiedMarginStatus in /v5/account/info"
        if status is None
        else f"not a unified trading account (unifiedMarginStatus {status}: classic)"
    )
    return Finding(
        "account",
        "change",
        seen,
        "upgrade to a Unified Trading Account on Bybit (Account > Unified Trading Account); "
        "ASN trades unified accounts only",
    )


def _symbol(answers: AccountAnswers, slot: SlotConfig) -> Finding:
    check = f"slot {slot.index} symbol {slot.symbol}"
    row = answers.instruments.get(slot.symbol)
    fix = f"set slot[{slot.index}].symbol to a linear USDT perpetual in Trading status"
    if row is None:
        return Finding(check, "change", "Bybit lists no linear symbol of that name", fix)
    if row.contract_type and row.contract_type != LINEAR_PERPETUAL:
        return Finding(check, "change", f"a {row.contract_type} contract, not a perpetual", fix)
    if row.settle_coin and row.settle_coin != SETTLE_COIN:
        return Finding(check, "change", f"settles in {row.settle_coin}, not USDT", fix)
    if row.status != TRADING:
        return Finding(check, "change", f"status {row.status}, not Trading", fix)
    return Finding(check, "ok", "linear USDT perpetual, Trading")


def _position_mode(answers: AccountAnswers, symbol: str) -> Finding | None:
    rows = answers.positions.get(symbol)
    if rows is None:
        return None  # not listed: the symbol finding says so
    check = f"position mode {symbol}"
    hedge = sorted({r.position_idx for r in rows if r.position_idx != 0})
    if not hedge:
        return Finding(check, "ok", "one-way (positionIdx 0)")
    return Finding(
        check,
        "change",
        f"hedge mode (positionIdx {', '.join(map(str, hedge))})",
        f"switch {symbol} to one-way mode (Bybit: trading page settings > Position Mode > "
        "One-Way Mode, with no position or order open on it); ASN supports one-way mode only",
    )


def _balance(answers: AccountAnswers, money: SlotsMoney) -> Finding:
    capital = money.needed
    wallet = answers.wallet
    if wallet is None:
        seen = answers.wallet_error or "no UNIFIED wallet in /v5/account/wallet-balance"
        return Finding(
            "balance", "change", seen, "fund a unified trading account with USDT (see account)"
        )
    equity = wallet.usdt_equity if wallet.usdt_equity is not None else Decimal(0)
    seen = (
        f"USDT equity {equity}, total available {wallet.total_available} USD; "
        f"slots' {money.what} {capital} USDT"
    )
    if equity >= capital:
        return Finding("balance", "ok", seen)
    if money.holding:
        # The open positions' unrealised PnL is in the venue's equity, not in the slots' cash:
        # a shortfall may be that loss, and refusing to start would leave them unmanaged.
        return Finding(
            "balance", "note", f"{seen}, with positions open", "not judged while positions are open"
        )
    return Finding(
        "balance",
        "change",
        seen,
        f"transfer at least {capital - equity} USDT to the unified account, or lower the "
        "slots' capital",
    )


def journal_findings(
    answers: AccountAnswers,
    *,
    owns: Callable[[str], bool],
    known_links: frozenset[str],
    journal_positions: Mapping[str, Decimal],
) -> list[Finding]:
    """The venue's open orders and positions the journal does not know.

    ``owns``: whether a link id is of this journal's namespace; ``known_links``: the orders
    the journal holds open; ``journal_positions``: symbol -> the slots' net position (base
    units, signed). A position the journal does not hold halts trading at reconciliation.
    """
    out: list[Finding] = []
    for symbol, orders in answers.open_orders.items():
        foreign = [
            o.order_link_id or f"orderId {o.order_id}" for o in orders if not owns(o.order_link_id)
        ]
        unknown = [
            o.order_link_id
            for o in orders
            if owns(o.order_link_id) and o.order_link_id not in known_links
        ]
        if foreign:
            out.append(
                Finding(
                    f"open orders {symbol}",
                    "note",
                    f"{len(foreign)} not of this journal: {', '.join(foreign[:5])}",
                    'left alone ([venue] foreign_orders = "report"), or cancelled at start '
                    'with foreign_orders = "cancel"',
                )
            )
        if unknown:
            out.append(
                Finding(
                    f"open orders {symbol}",
                    "note",
                    f"{len(unknown)} of this journal it holds finished: {', '.join(unknown[:5])}",
                    "the daemon looks them up at start; cancel them on Bybit if unwanted",
                )
            )
    for symbol, rows in answers.positions.items():
        venue = sum((_signed_size(r.side, r.size) for r in rows), Decimal(0))
        ours = journal_positions.get(symbol, Decimal(0))
        if venue != ours:
            out.append(
                Finding(
                    f"position {symbol}",
                    "change",
                    f"venue holds {venue}, the journal {ours}",
                    f"close the {symbol} position on Bybit (or use the journal that opened it)",
                )
            )
    return out


def _signed_size(side: str, size: str) -> Decimal:
    amount = Decimal(size or "0")
    return -amount if side == "Sell" else amount
