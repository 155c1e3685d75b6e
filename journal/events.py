"""The event catalogue: every fact ASN records, as immutable typed structs.

Each event is a frozen msgspec struct encoded as a msgpack *array* whose first element is the
event's stable numeric kind (its tag), followed by the common fields ``seq`` and
``ts_local_ns`` and then the kind's own fields in declaration order. Arrays, not maps: field
names are not repeated in every record, and decoding into typed structs is fast.

Rules that keep old journals readable:
- A kind number, once released, is never reused or renumbered.
- New fields are appended at the end of a struct *with a default*; old records then decode
  with that default (msgspec fills missing trailing array elements). That is a minor schema
  change (``SCHEMA_MINOR`` += 1). Removing, reordering or retyping a field is a major change.
- Adding a kind: define the struct with a new tag below and list it in ``CATALOGUE``. Readers
  of an older minor version skip kinds they do not know.

Units are in the names: ``*_ticks`` are integer multiples of the instrument's tick size,
``*_lots`` integer multiples of its lot size, ``*_ms`` the venue's millisecond clock,
``*_ns`` the local wall clock in nanoseconds, ``*_e8`` quote currency scaled by 10**8.
Prices and sizes are exact integers; floats appear only in model outputs (signals).

``seq`` is assigned by the journal writer when the event is appended; it is gap-free per
journal. Producers build events with ``seq=0`` and hand them over: the writer stamps such an
event *in place* (the one deliberate exception to frozenness, because copying every market
event cost as much as encoding it), so do not hash or share an event before appending it. An
event that already carries a seq is copied, never changed. ``ts_local_ns`` is the local wall
clock at capture, set by the producer.

Events are ``gc=False`` structs: they hold only scalars and lists of scalars, so they can
never be part of a reference cycle, and untracked instances keep the garbage collector from
dominating replay time.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

__all__ = [
    "BUY",
    "CATALOGUE",
    "SELL",
    "ActorCrashed",
    "BookDelta",
    "BookSnapshot",
    "BookStale",
    "BookSynced",
    "CancelIntent",
    "ChallengerLoaded",
    "ChallengerRejected",
    "ConfigLoaded",
    "DaemonStarted",
    "DaemonStopped",
    "Event",
    "FeedConnected",
    "FeedLost",
    "Fill",
    "InstrumentInfo",
    "Kill",
    "LinkNamespace",
    "Liquidation",
    "ModelDead",
    "OperatorCommand",
    "OrderAccepted",
    "OrderAmended",
    "OrderCancelled",
    "OrderIntent",
    "OrderReconciled",
    "OrderRejected",
    "OrderSent",
    "OrderUnresolved",
    "PositionReconciled",
    "Promotion",
    "Resume",
    "RiskHalt",
    "RiskVerdict",
    "Signal",
    "StateSnapshot",
    "StrategyLoaded",
    "Swap",
    "TimerFired",
    "Trade",
    "TradingHalted",
    "kind_name",
    "kind_of",
]

#: Taker / order side. Integers so that signed quantities are ``side * qty_lots``.
BUY: Final = 1
SELL: Final = -1


class Event(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Base of every journaled event. Never journaled itself (it has no kind)."""

    seq: int
    ts_local_ns: int


# --------------------------------------------------------------------------- market (1-19)


class InstrumentInfo(Event, frozen=True, tag=1):
    """Trading rules of a symbol; the scale for every ``*_ticks`` / ``*_lots`` that follows."""

    venue: str
    symbol: str
    tick_size: str  # decimal string, exactly as the venue states it
    lot_size: str
    min_qty: str = "0"
    min_notional: str = "0"


class BookSnapshot(Event, frozen=True, tag=2):
    """A full L2 book (Bybit ``type: snapshot``). Replaces the book; never merged into it.

    Levels are parallel arrays, best first: bids descending, asks ascending.
    """

    symbol: str
    update_id: int  # Bybit ``u``
    venue_seq: int  # Bybit ``seq`` (cross-sequence across depths)
    venue_ts_ms: int  # Bybit ``ts``
    cts_ms: int  # Bybit ``cts`` (matching engine time)
    bid_ticks: list[int]
    bid_lots: list[int]
    ask_ticks: list[int]
    ask_lots: list[int]


class BookDelta(Event, frozen=True, tag=3):
    """Changed L2 levels (Bybit ``type: delta``); a size of 0 deletes the level."""

    symbol: str
    update_id: int
    venue_seq: int
    venue_ts_ms: int
    cts_ms: int
    bid_ticks: list[int]
    bid_lots: list[int]
    ask_ticks: list[int]
    ask_lots: list[int]


class Trade(Event, frozen=True, tag=4):
    """A public trade; ``side`` is the taker's side."""

    symbol: str
    trade_id: str
    side: int
    price_ticks: int
    qty_lots: int
    trade_ts_ms: int  # Bybit ``T``
    block_trade: bool = False


class FeedConnected(Event, frozen=True, tag=5):
    venue: str
    stream: str  # "public" | "private"
    attempt: int


class FeedLost(Event, frozen=True, tag=6):
    venue: str
    stream: str
    reason: str


class BookStale(Event, frozen=True, tag=7):
    """The book of ``symbol`` can no longer be trusted (gap, reconnect, crossed, silence)."""

    symbol: str
    reason: str


class BookSynced(Event, frozen=True, tag=8):
    """A fresh snapshot made the book of ``symbol`` trustworthy again."""

    symbol: str
    update_id: int


class TimerFired(Event, frozen=True, tag=9):
    """A clock input (e.g. periodic mark-to-market); replay feeds it like any other input."""

    name: str


# ------------------------------------------------------------------------ decisions (20-29)


class Signal(Event, frozen=True, tag=20):
    """A model's strategy output for one market event (``trigger_seq``)."""

    slot: int
    symbol: str
    strategy_id: str
    signal: float
    size: float
    trigger_seq: int


class OrderIntent(Event, frozen=True, tag=21):
    """An order a model (or the watchtower) wants sent. Durable before the venue sees it.

    ``link_id`` is the venue's idempotency key (Bybit ``orderLinkId``); it encodes the slot
    and this intent's sequence so that a retry can never create a second order.
    ``order_type`` is "limit" or "market"; ``tif`` is "GTC", "IOC", "FOK" or "PostOnly".
    """

    slot: int
    symbol: str
    link_id: str
    side: int
    order_type: str
    tif: str
    price_ticks: int  # limit price; for market orders the protection price (0 = none)
    qty_lots: int
    reduce_only: bool
    trigger_seq: int


class RiskVerdict(Event, frozen=True, tag=22):
    """The watchtower's pre-trade decision on the intent journaled at ``intent_seq``."""

    slot: int
    intent_seq: int
    approved: bool
    reason: str


# ------------------------------------------------------------------------ execution (30-49)


class OrderSent(Event, frozen=True, tag=30):
    slot: int
    link_id: str
    intent_seq: int
    attempt: int = 1


class OrderAccepted(Event, frozen=True, tag=31):
    slot: int
    link_id: str
    venue_order_id: str


class OrderRejected(Event, frozen=True, tag=32):
    slot: int
    link_id: str
    code: int  # venue's retCode, or a negative ASN-local code
    reason: str


class OrderCancelled(Event, frozen=True, tag=33):
    slot: int
    link_id: str
    venue_order_id: str
    reason: str
    remaining_lots: int = 0


class Fill(Event, frozen=True, tag=34):
    """An execution of one of our orders (Bybit ``execution`` topic or a simulated fill)."""

    slot: int
    link_id: str
    venue_order_id: str
    exec_id: str
    symbol: str
    side: int
    price_ticks: int
    qty_lots: int
    fee_e8: int  # fee paid in quote currency * 1e8 (negative = rebate)
    is_maker: bool
    exec_ts_ms: int
    leaves_lots: int = 0


class OrderUnresolved(Event, frozen=True, tag=35):
    """The outcome of sending ``link_id`` is unknown (e.g. timeout); look it up before reuse."""

    slot: int
    link_id: str
    reason: str


class OrderReconciled(Event, frozen=True, tag=36):
    """The venue's truth about an order after a lookup (start-up or an unresolved order)."""

    slot: int
    link_id: str
    venue_order_id: str
    status: str  # "open" | "filled" | "cancelled" | "rejected" | "not_found"
    filled_lots: int
    leaves_lots: int


class PositionReconciled(Event, frozen=True, tag=37):
    """The venue's position for a symbol at start-up reconciliation."""

    symbol: str
    position_lots: int  # signed: long > 0
    avg_price_ticks: int


class OrderAmended(Event, frozen=True, tag=38):
    slot: int
    link_id: str
    price_ticks: int
    qty_lots: int


# ------------------------------------------------------------------------ lifecycle (50-79)


class DaemonStarted(Event, frozen=True, tag=50):
    version: str
    pid: int
    venue: str


class DaemonStopped(Event, frozen=True, tag=51):
    reason: str


class ConfigLoaded(Event, frozen=True, tag=52):
    """The configuration in force; ``text`` is the file as read (it never holds secrets)."""

    path: str
    digest: str
    text: str


class StrategyLoaded(Event, frozen=True, tag=53):
    """A slot's champion strategy; ``document`` is the full JSON so replay needs no files."""

    slot: int
    strategy_id: str
    digest: str
    source: str
    document: str


class ChallengerLoaded(Event, frozen=True, tag=54):
    slot: int
    strategy_id: str
    digest: str
    source: str
    document: str


class ChallengerRejected(Event, frozen=True, tag=55):
    source: str
    reason: str


class Promotion(Event, frozen=True, tag=56):
    """A challenger passed the promotion test against ``champion_id`` on ``slot``."""

    slot: int
    challenger_id: str
    champion_id: str
    statistic: float
    p_value: float
    windows: int


class Swap(Event, frozen=True, tag=57):
    slot: int
    old_strategy_id: str
    new_strategy_id: str
    mode: str  # "inherit" | "flatten"
    cause: str  # "promotion" | "operator"


class Kill(Event, frozen=True, tag=58):
    """Stop a slot (``slot`` >= 0) or everything (``slot`` == -1) and flatten."""

    slot: int
    reason: str


class Resume(Event, frozen=True, tag=59):
    slot: int
    reason: str


class ModelDead(Event, frozen=True, tag=60):
    """Sudden death: the slot's equity reached zero."""

    slot: int
    equity_e8: int


class Liquidation(Event, frozen=True, tag=61):
    slot: int
    symbol: str
    link_id: str
    qty_lots: int


class ActorCrashed(Event, frozen=True, tag=62):
    actor: str
    error: str
    restarts: int


class TradingHalted(Event, frozen=True, tag=63):
    """Global halt: no new risk until an operator resumes."""

    reason: str


class LinkNamespace(Event, frozen=True, tag=64):
    """The journal's order-id namespace (8 base32 characters), drawn once when the journal is
    created: its link ids are ``asn-{namespace}-{slot}-{n}`` (``asnd.core.link_id``), so
    another journal's orders on the same account are recognised as foreign."""

    namespace: str


# ------------------------------------------------------------------------- operator (80-89)


class OperatorCommand(Event, frozen=True, tag=80):
    """A command received on the control socket, journaled before it is acted on."""

    command: str
    args: list[str]
    peer_uid: int


# ------------------------------------------------------------------------ snapshots (90-99)


class StateSnapshot(Event, frozen=True, tag=90):
    """Core state as of ``as_of_seq`` (msgpack ``payload``), so recovery need not replay all."""

    as_of_seq: int
    schema: str
    payload: bytes


# --------------------------------------------------------------- models and watchtower (140-149)


class CancelIntent(Event, frozen=True, tag=140):
    """A request to cancel one of our working orders, reviewed like an ``OrderIntent``.

    Made by a model (its order left the touch), the watchtower (sudden death, kill) or a swap
    that flattens. The watchtower approves every cancel: taking risk off never waits.
    """

    slot: int
    symbol: str
    link_id: str
    reason: str
    trigger_seq: int


class RiskHalt(Event, frozen=True, tag=141):
    """A risk brake fired (``asnd.core.brakes``): the slot (``slot`` >= 0) or every slot (-1)
    is flattened towards HALTED. ``rule`` is the config key ("max_daily_loss",
    "max_drawdown"); ``utc_day`` the UTC day (days since 1970-01-01) of the event time."""

    slot: int
    rule: str
    reason: str
    utc_day: int


#: Every journaled kind. Append new kinds here (and nowhere else) when adding one.
CATALOGUE: Final[tuple[type[Event], ...]] = (
    InstrumentInfo,
    BookSnapshot,
    BookDelta,
    Trade,
    FeedConnected,
    FeedLost,
    BookStale,
    BookSynced,
    TimerFired,
    Signal,
    OrderIntent,
    RiskVerdict,
    OrderSent,
    OrderAccepted,
    OrderRejected,
    OrderCancelled,
    Fill,
    OrderUnresolved,
    OrderReconciled,
    PositionReconciled,
    OrderAmended,
    DaemonStarted,
    DaemonStopped,
    ConfigLoaded,
    StrategyLoaded,
    ChallengerLoaded,
    ChallengerRejected,
    Promotion,
    Swap,
    Kill,
    Resume,
    ModelDead,
    Liquidation,
    ActorCrashed,
    TradingHalted,
    LinkNamespace,
    OperatorCommand,
    StateSnapshot,
    CancelIntent,
    RiskHalt,
)


def kind_of(event_type: type[Event]) -> int:
    """The stable numeric kind (msgpack tag) of an event class."""
    tag = event_type.__struct_config__.tag
    if not isinstance(tag, int):
        raise TypeError(f"{event_type.__name__} is not a journaled event kind")
    return tag


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def kind_name(event_type: type[Event]) -> str:
    """Human name of a kind, e.g. ``BookDelta`` -> ``book_delta`` (CLI filters use it)."""
    return _snake(event_type.__name__)
