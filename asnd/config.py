"""The daemon's configuration: ``etc/asnd.toml`` parsed with ``tomllib`` into frozen dataclasses.

``load_config(path)`` reads and validates the whole file at start, before anything else runs,
and raises ``ConfigError`` with a message that names the key::

    slot[2].capital: expected a positive number, got "abc"
    unknown keys: risk.max_notionl
    slot[0].strategy: /etc/asnd/strategies/x.json does not exist

Rules:
- Every key is documented in place in ``etc/asnd.toml``; unknown keys are errors.
- Relative paths are relative to the folder holding the config file, so a config and its
  strategies can be moved together.
- Secrets are never in the file (it is journaled as ``ConfigLoaded``): Bybit keys come from
  the environment or systemd credentials (``asnd.venues.bybit.credentials``).
- Strategy files are checked to exist and be readable here; their content is validated by the
  strategy loader when the daemon starts.
- Money and quantities are exact ``Decimal``s; they become integer ticks/lots once the venue's
  instrument rules are known.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal, cast

from asnd._table import ConfigError, Table, shown
from asnd.alerts.settings import AlertSettings, parse_alerts
from asnd.config_paper import PaperSettings, parse_paper

__all__ = [
    "AlertSettings",
    "BybitSettings",
    "ChallengerSettings",
    "Config",
    "ConfigError",
    "ControlSettings",
    "JournalSettings",
    "LogSettings",
    "MetricsSettings",
    "PaperSettings",
    "PromotionSettings",
    "RiskSettings",
    "ShutdownSettings",
    "SimSettings",
    "SlotConfig",
    "SupervisorSettings",
    "VenueSettings",
    "load_config",
    "parse_config",
]

VenueKind = Literal["sim", "bybit-testnet", "bybit", "bybit-paper"]
LogFormat = Literal["auto", "json", "console"]
SwapMode = Literal["inherit", "flatten"]
KillAllMode = Literal["flatten", "cancel"]

VENUE_KINDS: Final = ("sim", "bybit-testnet", "bybit", "bybit-paper")
#: Kinds that trade without API keys (paper: public market data only).
KEYLESS_KINDS: Final = ("sim", "bybit-paper")
LOG_FORMATS: Final = ("auto", "json", "console")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
SWAP_MODES: Final = ("inherit", "flatten")
KILL_ALL_MODES: Final = ("flatten", "cancel")

#: Endpoints per venue kind: (REST, public WS, private WS). Overridable per key in [venue.bybit].
BYBIT_ENDPOINTS: Final = {
    "bybit": (
        "https://api.bybit.com",
        "wss://stream.bybit.com/v5/public/linear",
        "wss://stream.bybit.com/v5/private",
    ),
    "bybit-testnet": (
        "https://api-testnet.bybit.com",
        "wss://stream-testnet.bybit.com/v5/public/linear",
        "wss://stream-testnet.bybit.com/v5/private",
    ),
}

_SYMBOL: Final = re.compile(r"[A-Z0-9]{2,30}")
MAX_SLOTS: Final = 32
MAX_LEVERAGE: Final = Decimal(100)
#: Largest risk brake accepted, USDT.
MAX_BRAKE: Final = Decimal(10) ** 9
_E8_STEP: Final = Decimal("1e-8")


@dataclass(frozen=True, slots=True)
class SimSettings:
    seed: int


@dataclass(frozen=True, slots=True)
class BybitSettings:
    rest_url: str
    ws_public_url: str
    ws_private_url: str
    recv_window_ms: int


#: What start-up reconciliation does with open orders not of this journal (``[venue]
#: foreign_orders``): report them (journaled, logged, left alone) or also cancel them.
ForeignOrders = Literal["report", "cancel"]
FOREIGN_ORDERS: Final = ("report", "cancel")


@dataclass(frozen=True, slots=True)
class VenueSettings:
    kind: VenueKind
    sim: SimSettings
    bybit: BybitSettings
    foreign_orders: ForeignOrders = "report"


@dataclass(frozen=True, slots=True)
class SlotConfig:
    index: int  # the slot number used by events and asnctl (order in the file, from 0)
    symbol: str
    strategy: Path
    capital: Decimal  # quote currency (USDT)
    min_qty: Decimal  # base currency
    max_qty: Decimal
    leverage: Decimal
    # Risk brakes in USDT (None = off): the slot's own keys, else [risk]'s *_per_slot.
    max_daily_loss: Decimal | None = None
    max_drawdown: Decimal | None = None


@dataclass(frozen=True, slots=True)
class JournalSettings:
    directory: Path
    fsync: bool
    group_commit_max_delay_ms: int
    snapshot_every_events: int
    retain_days: int | None = None  # None: no age limit ([journal] retain_days)
    retain_bytes: int | None = None  # None: no size limit
    archive_directory: Path | None = None  # None: pruned segments are deleted


@dataclass(frozen=True, slots=True)
class ChallengerSettings:
    directory: Path
    max_file_bytes: int


@dataclass(frozen=True, slots=True)
class ControlSettings:
    socket: Path
    allowed_uids: tuple[int, ...]  # besides the daemon's own uid


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """Where ``/metrics`` is served (``asnd.metrics``)."""

    listen: tuple[str, int] | None  # (host, port); None: metrics are off

    @property
    def enabled(self) -> bool:
        return self.listen is not None

    @property
    def address(self) -> str:
        """``HOST:PORT`` as written in the config (an IPv6 host in brackets), "" when off."""
        if self.listen is None:
            return ""
        host, port = self.listen
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class RiskSettings:
    max_notional_per_slot: Decimal
    max_open_orders_per_slot: int
    stale_book_timeout_ms: int
    kill_all: KillAllMode
    # Risk brakes in USDT (None = off): daemon-wide, on the sum of the slots' equities ...
    max_daily_loss: Decimal | None = None
    max_drawdown: Decimal | None = None
    # ... and each slot's default (a [[slot]] may set its own).
    max_daily_loss_per_slot: Decimal | None = None
    max_drawdown_per_slot: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LogSettings:
    format: LogFormat
    level: str


@dataclass(frozen=True, slots=True)
class ShutdownSettings:
    cancel_open_orders: bool
    grace_ms: int


@dataclass(frozen=True, slots=True)
class PromotionSettings:
    min_windows: int
    window_s: int
    alpha: float
    target_multiple: Decimal
    swap_mode: SwapMode


@dataclass(frozen=True, slots=True)
class SupervisorSettings:
    restart_backoff_initial_ms: int
    restart_backoff_max_ms: int
    max_crashes: int
    crash_window_s: int


@dataclass(frozen=True, slots=True)
class Config:
    """The validated configuration. ``text`` and ``digest`` are what ``ConfigLoaded`` journals."""

    path: Path
    text: str
    digest: str  # sha256 of the file's bytes, hex
    venue: VenueSettings
    slots: tuple[SlotConfig, ...]
    journal: JournalSettings
    challengers: ChallengerSettings
    control: ControlSettings
    metrics: MetricsSettings
    paper: PaperSettings
    risk: RiskSettings
    log: LogSettings
    shutdown: ShutdownSettings
    promotion: PromotionSettings
    supervisor: SupervisorSettings
    alerts: AlertSettings  # [alerts]: asnd.alerts.settings


def load_config(path: str | Path) -> Config:
    """Read and validate the config file at ``path``. Raises ``ConfigError`` on any problem."""
    config_path = Path(os.path.abspath(Path(path).expanduser()))
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: config file does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{config_path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read config file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{config_path}: not UTF-8 text (byte {exc.start})") from None
    return parse_config(text, config_path)


def parse_config(text: str, path: Path) -> Config:
    """Validate config ``text`` as if read from ``path`` (relative paths resolve against it)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    base = path.parent
    root = Table(data)
    risk = _risk(root.table("risk"))
    config = Config(
        path=path,
        text=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        venue=_venue(root.table("venue")),
        slots=_slots(root, base, risk),
        journal=_journal(root.table("journal"), base),
        challengers=_challengers(root.table("challengers"), base),
        control=_control(root.table("control"), base),
        metrics=_metrics(root.table("metrics")),
        paper=parse_paper(root.table("paper"), BYBIT_ENDPOINTS, _url),
        risk=risk,
        log=_log(root.table("log")),
        shutdown=_shutdown(root.table("shutdown")),
        promotion=_promotion(root.table("promotion")),
        supervisor=_supervisor(root.table("supervisor")),
        alerts=parse_alerts(root.table("alerts")),
    )
    root.finish()
    return config


def _venue(table: Table) -> VenueSettings:
    kind = table.choice("kind", VENUE_KINDS)
    foreign = cast(ForeignOrders, table.choice("foreign_orders", FOREIGN_ORDERS, "report"))
    sim_table = table.table("sim")
    sim = SimSettings(seed=sim_table.integer("seed", 1))
    sim_table.finish()
    bybit_table = table.table("bybit")
    # The sim and paper venues ignore [venue.bybit] (paper reads [paper]), but its keys are
    # still checked: a typo is a typo.
    rest, public, private = BYBIT_ENDPOINTS[kind if kind in BYBIT_ENDPOINTS else "bybit-testnet"]
    bybit = BybitSettings(
        rest_url=_url(bybit_table, "rest_url", rest, ("https", "http")),
        ws_public_url=_url(bybit_table, "ws_public_url", public, ("wss", "ws")),
        ws_private_url=_url(bybit_table, "ws_private_url", private, ("wss", "ws")),
        recv_window_ms=bybit_table.integer("recv_window_ms", 5000, minimum=1, maximum=60_000),
    )
    bybit_table.finish()
    table.finish()
    return VenueSettings(kind=cast(VenueKind, kind), sim=sim, bybit=bybit, foreign_orders=foreign)


def _url(table: Table, name: str, default: str, schemes: tuple[str, str]) -> str:
    """A venue URL; "" means the kind's default. Plain http/ws only towards loopback."""
    return table.url(name, default, schemes)


def _slots(root: Table, base: Path, risk: RiskSettings) -> tuple[SlotConfig, ...]:
    tables = root.tables("slot")
    if not tables:
        raise root.error("slot", "at least one [[slot]] is required")
    if len(tables) > MAX_SLOTS:
        raise root.error("slot", f"at most {MAX_SLOTS} slots, got {len(tables)}")
    slots: list[SlotConfig] = []
    owner: dict[str, int] = {}
    for index, table in enumerate(tables):
        symbol = table.string("symbol")
        if not _SYMBOL.fullmatch(symbol):
            raise table.error(
                "symbol", f'expected a venue symbol like "BTCUSDT", got {shown(symbol)}'
            )
        if symbol in owner:
            # One-way positions are per symbol on the venue: two slots would share one position
            # and reconciliation could not tell them apart.
            raise table.error("symbol", f"{symbol} is already traded by slot[{owner[symbol]}]")
        owner[symbol] = index
        strategy = table.path_value("strategy", base)
        _check_readable(table, "strategy", strategy)
        min_qty = table.decimal("min_qty")
        max_qty = table.decimal("max_qty")
        if max_qty < min_qty:
            raise table.error("max_qty", f"must be >= min_qty ({min_qty}), got {max_qty}")
        slot = SlotConfig(
            index=index,
            symbol=symbol,
            strategy=strategy,
            capital=table.decimal("capital", Decimal(200)),
            min_qty=min_qty,
            max_qty=max_qty,
            leverage=table.decimal("leverage", Decimal(1), maximum=MAX_LEVERAGE),
            max_daily_loss=_brake(table, "max_daily_loss", risk.max_daily_loss_per_slot),
            max_drawdown=_brake(table, "max_drawdown", risk.max_drawdown_per_slot),
        )
        table.finish()
        slots.append(slot)
    return tuple(slots)


def _check_readable(table: Table, name: str, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise table.error(name, f"{path} does not exist") from None
    except IsADirectoryError:
        raise table.error(name, f"{path} is a directory, not a strategy file") from None
    except OSError as exc:
        raise table.error(name, f"{path} cannot be read: {exc.strerror}") from None


def _journal(table: Table, base: Path) -> JournalSettings:
    # 0 and "" switch retention off (the default: the journal is kept whole).
    days = table.integer("retain_days", 0, maximum=36_500)
    size = table.integer("retain_bytes", 0)
    if 0 < size < 1 << 20:
        raise table.error("retain_bytes", f"expected 0 (no limit) or at least 1048576, got {size}")
    archive = table.string("archive_directory", "")
    settings = JournalSettings(
        directory=table.path_value("directory", base),
        fsync=table.boolean("fsync", True),
        group_commit_max_delay_ms=table.integer("group_commit_max_delay_ms", 5, maximum=10_000),
        snapshot_every_events=table.integer("snapshot_every_events", 100_000, minimum=1),
        retain_days=days or None,
        retain_bytes=size or None,
        archive_directory=table.path_value("archive_directory", base) if archive else None,
    )
    table.finish()
    return settings


def _challengers(table: Table, base: Path) -> ChallengerSettings:
    settings = ChallengerSettings(
        directory=table.path_value("directory", base),
        max_file_bytes=table.integer("max_file_bytes", 1 << 20, minimum=1, maximum=1 << 30),
    )
    table.finish()
    return settings


def _control(table: Table, base: Path) -> ControlSettings:
    socket = table.path_value("socket", base)
    # sun_path holds 108 bytes including the terminating NUL on Linux.
    if len(str(socket).encode()) > 107:
        raise table.error("socket", f"{socket} is too long for a Unix socket (max 107 bytes)")
    settings = ControlSettings(socket=socket, allowed_uids=table.integers("allowed_uids"))
    table.finish()
    return settings


def _metrics(table: Table) -> MetricsSettings:
    """``listen = "HOST:PORT"`` ("" = off). Loopback only: the endpoint has no authentication
    and shows positions and equity, so anything wider goes through a proxy the operator runs."""
    listen = table.string("listen", "")
    table.finish()
    if not listen:
        return MetricsSettings(listen=None)
    host, sep, port_text = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    example = 'like "127.0.0.1:9464" or "[::1]:9464"'
    if not sep or not host or not port_text.isdigit():
        raise table.error("listen", f"expected HOST:PORT {example}, got {shown(listen)}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise table.error("listen", f"port must be 1..65535, got {port}")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        what = f"expected an IP address {example}, got {shown(host)}"
        raise table.error("listen", what) from None
    if not loopback:
        raise table.error(
            "listen", f"{host} is not a loopback address; metrics are served on loopback only"
        )
    return MetricsSettings(listen=(host, port))


def _risk(table: Table) -> RiskSettings:
    settings = RiskSettings(
        max_notional_per_slot=table.decimal("max_notional_per_slot", Decimal(1000)),
        max_open_orders_per_slot=table.integer("max_open_orders_per_slot", 4, minimum=1),
        stale_book_timeout_ms=table.integer("stale_book_timeout_ms", 5000, minimum=1),
        kill_all=cast(KillAllMode, table.choice("kill_all", KILL_ALL_MODES, "flatten")),
        max_daily_loss=_brake(table, "max_daily_loss", None),
        max_drawdown=_brake(table, "max_drawdown", None),
        max_daily_loss_per_slot=_brake(table, "max_daily_loss_per_slot", None),
        max_drawdown_per_slot=_brake(table, "max_drawdown_per_slot", None),
    )
    table.finish()
    return settings


def _brake(table: Table, name: str, default: Decimal | None) -> Decimal | None:
    """A risk brake in USDT: absent -> ``default`` (None: off); else positive, at most
    ``MAX_BRAKE`` and exact in the ledger's unit (1e-8 USDT), so the core's integer limit
    is the configured amount, never a rounding of it."""
    if not table.has(name):
        return default
    value = table.decimal(name, maximum=MAX_BRAKE)
    if value != value.quantize(_E8_STEP):
        raise table.error(name, f"at most 8 decimals (1e-8 USDT), got {value}")
    return value


def _log(table: Table) -> LogSettings:
    settings = LogSettings(
        format=cast(LogFormat, table.choice("format", LOG_FORMATS, "auto")),
        level=table.choice("level", LOG_LEVELS, "info"),
    )
    table.finish()
    return settings


def _shutdown(table: Table) -> ShutdownSettings:
    settings = ShutdownSettings(
        cancel_open_orders=table.boolean("cancel_open_orders", True),
        grace_ms=table.integer("grace_ms", 10_000, minimum=1),
    )
    table.finish()
    return settings


def _promotion(table: Table) -> PromotionSettings:
    settings = PromotionSettings(
        min_windows=table.integer("min_windows", 20, minimum=2),
        window_s=table.integer("window_s", 300, minimum=1),
        alpha=table.number("alpha", 0.05, low=0.0, high=1.0),
        target_multiple=_target_multiple(table),
        swap_mode=cast(SwapMode, table.choice("swap_mode", SWAP_MODES, "inherit")),
    )
    table.finish()
    return settings


def _target_multiple(table: Table) -> Decimal:
    """Exact (a Decimal, not a float): the target equity is an exact integer of 1e-8 USDT.
    Bounded above so that a typo cannot make an unreachable, absurdly large target."""
    value = table.decimal("target_multiple", Decimal("2.0"), maximum=Decimal(1000))
    if value <= 1:
        raise table.error("target_multiple", f"must be > 1 (the target is a gain), got {value}")
    return value


def _supervisor(table: Table) -> SupervisorSettings:
    initial = table.integer("restart_backoff_initial_ms", 100, minimum=1)
    maximum = table.integer("restart_backoff_max_ms", 30_000, minimum=1)
    if maximum < initial:
        raise table.error(
            "restart_backoff_max_ms", f"must be >= restart_backoff_initial_ms ({initial})"
        )
    settings = SupervisorSettings(
        restart_backoff_initial_ms=initial,
        restart_backoff_max_ms=maximum,
        max_crashes=table.integer("max_crashes", 5, minimum=1),
        crash_window_s=table.integer("crash_window_s", 300, minimum=1),
    )
    table.finish()
    return settings
