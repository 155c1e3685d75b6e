"""The shape of ``etc/asnd.toml``: one msgspec struct per section, with types, defaults and ranges.

These are the file as written (paths as text, "" for "use the default"); ``asnd.config`` turns
them into the resolved ``Config`` (paths made absolute, a slot's risk brakes defaulted from
[risk], URLs defaulted per venue kind) and checks what spans fields. Every struct rejects
unknown keys (``Section``); ``asnd.config_decode`` words the errors. ``[alerts]`` has its own
schema in ``asnd.alerts.settings``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from asnd.alerts.settings import AlertsFile
from asnd.config_decode import Section
from asnd.config_paper import PaperFile

__all__ = [
    "MAX_BRAKE",
    "MAX_LEVERAGE",
    "MAX_SLOTS",
    "BybitFile",
    "ChallengersFile",
    "ConfigFile",
    "ControlFile",
    "ForeignOrders",
    "KillAllMode",
    "LogFormat",
    "LogLevel",
    "SwapMode",
    "VenueKind",
    "JournalFile",
    "LogFile",
    "MetricsFile",
    "PromotionFile",
    "RiskFile",
    "ShutdownFile",
    "SimFile",
    "SlotFile",
    "SupervisorFile",
    "VenueFile",
]

VenueKind = Literal["sim", "bybit-testnet", "bybit", "bybit-paper"]
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]
SwapMode = Literal["inherit", "flatten"]
KillAllMode = Literal["flatten", "cancel"]
#: What start-up reconciliation does with open orders not of this journal (``[venue]
#: foreign_orders``): report them (journaled, logged, left alone) or also cancel them.
ForeignOrders = Literal["report", "cancel"]

MAX_SLOTS: Final = 32
MAX_LEVERAGE: Final = Decimal(100)
#: Largest risk brake accepted, USDT.
MAX_BRAKE: Final = Decimal(10) ** 9

Count = Annotated[int, Meta(ge=0)]
Positive = Annotated[int, Meta(ge=1)]
#: Money and quantities: exact, from a TOML integer, float or decimal string ("0.001").
Amount = Decimal
Leverage = Annotated[Decimal, Meta(extra={"le": MAX_LEVERAGE})]
#: A risk brake in USDT; absent means off (or, for a slot, [risk]'s *_per_slot).
Brake = Annotated[Decimal, Meta(extra={"le": MAX_BRAKE})]
Symbol = Annotated[
    str, Meta(pattern="^[A-Z0-9]{2,30}$", extra={"what": 'a venue symbol like "BTCUSDT"'})
]


class SimFile(Section):
    seed: Count = 1


class BybitFile(Section):
    # "" means the venue kind's endpoint (asnd.config.BYBIT_ENDPOINTS).
    rest_url: str = ""
    ws_public_url: str = ""
    ws_private_url: str = ""
    recv_window_ms: Annotated[int, Meta(ge=1, le=60_000)] = 5000


class VenueFile(Section):
    kind: VenueKind
    foreign_orders: ForeignOrders = "report"
    sim: SimFile = msgspec.field(default_factory=SimFile)
    # The sim and paper venues ignore [venue.bybit] (paper reads [paper]), but its keys are
    # still checked: a typo is a typo.
    bybit: BybitFile = msgspec.field(default_factory=BybitFile)


class SlotFile(Section):
    symbol: Symbol
    strategy: str
    min_qty: Amount
    max_qty: Amount
    capital: Amount = Decimal(200)
    leverage: Leverage = Decimal(1)
    max_daily_loss: Brake | None = None
    max_drawdown: Brake | None = None


class JournalFile(Section):
    directory: str
    fsync: bool = True
    group_commit_max_delay_ms: Annotated[int, Meta(ge=0, le=10_000)] = 5
    snapshot_every_events: Positive = 100_000
    # 0 and "" switch retention off (the default: the journal is kept whole).
    retain_days: Annotated[int, Meta(ge=0, le=36_500)] = 0
    retain_bytes: Count = 0
    archive_directory: str = ""


class ChallengersFile(Section):
    directory: str
    max_file_bytes: Annotated[int, Meta(ge=1, le=1 << 30)] = 1 << 20


class ControlFile(Section):
    socket: str
    allowed_uids: tuple[Count, ...] = ()


class MetricsFile(Section):
    listen: str = ""  # "HOST:PORT" on loopback; "" = off


class RiskFile(Section):
    max_notional_per_slot: Amount = Decimal(1000)
    max_open_orders_per_slot: Positive = 4
    stale_book_timeout_ms: Positive = 5000
    kill_all: KillAllMode = "flatten"
    max_daily_loss: Brake | None = None
    max_drawdown: Brake | None = None
    max_daily_loss_per_slot: Brake | None = None
    max_drawdown_per_slot: Brake | None = None


class LogFile(Section):
    format: LogFormat = "auto"
    level: LogLevel = "info"


class ShutdownFile(Section):
    cancel_open_orders: bool = True
    grace_ms: Positive = 10_000


class PromotionFile(Section):
    min_windows: Annotated[int, Meta(ge=2)] = 20
    window_s: Positive = 300
    alpha: Annotated[float, Meta(gt=0.0, lt=1.0)] = 0.05
    # Exact: the target equity is an exact integer of 1e-8 USDT. Bounded above so that a typo
    # cannot make an unreachable, absurdly large target.
    target_multiple: Annotated[Decimal, Meta(extra={"le": 1000})] = Decimal("2.0")
    swap_mode: SwapMode = "inherit"


class SupervisorFile(Section):
    restart_backoff_initial_ms: Positive = 100
    restart_backoff_max_ms: Positive = 30_000
    max_crashes: Positive = 5
    crash_window_s: Positive = 300


class ConfigFile(Section):
    """The whole file. Absent tables read as empty (``config_decode``), so their keys default."""

    venue: VenueFile
    slot: Annotated[list[SlotFile], Meta(min_length=1, max_length=MAX_SLOTS)]
    journal: JournalFile
    challengers: ChallengersFile
    control: ControlFile
    metrics: MetricsFile = msgspec.field(default_factory=MetricsFile)
    paper: PaperFile = msgspec.field(default_factory=PaperFile)
    risk: RiskFile = msgspec.field(default_factory=RiskFile)
    log: LogFile = msgspec.field(default_factory=LogFile)
    shutdown: ShutdownFile = msgspec.field(default_factory=ShutdownFile)
    promotion: PromotionFile = msgspec.field(default_factory=PromotionFile)
    supervisor: SupervisorFile = msgspec.field(default_factory=SupervisorFile)
    alerts: AlertsFile = msgspec.field(default_factory=AlertsFile)
