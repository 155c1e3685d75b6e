"""The daemon's configuration: ``etc/asnd.toml`` parsed with ``tomllib`` into frozen dataclasses.

``load_config(path)`` reads and validates the whole file at start, before anything else runs,
and raises ``ConfigError`` with a message that names the key::

    slot[2].capital: expected a positive number, got "abc"
    unknown key: risk.max_notionl (did you mean `max_notional_per_slot`?)
    slot[0].strategy: /etc/asnd/strategies/x.json does not exist

The file's shape (types, defaults, ranges, no unknown keys) is ``asnd.config_schema``, decoded
by msgspec (``asnd.config_decode`` words the errors). This module resolves what the schema
cannot say: paths against the config's folder, a slot's brakes defaulted from [risk], venue
URLs defaulted per kind, and the rules that span keys (``max_qty >= min_qty``, one slot per
symbol, ``restart_backoff_max_ms >= restart_backoff_initial_ms``).

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
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

from asnd.alerts.settings import AlertSettings, alert_settings
from asnd.config_decode import ConfigError, decode, resolve_path, shown, url
from asnd.config_paper import PaperSettings, paper_settings
from asnd.config_schema import (
    ConfigFile,
    ForeignOrders,
    JournalFile,
    KillAllMode,
    LogFormat,
    MetricsFile,
    SlotFile,
    SupervisorFile,
    SwapMode,
    VenueFile,
    VenueKind,
)

__all__ = [
    "AlertSettings",
    "BybitSettings",
    "ChallengerSettings",
    "Config",
    "ConfigError",
    "ControlSettings",
    "ForeignOrders",
    "JournalSettings",
    "KillAllMode",
    "LogFormat",
    "LogSettings",
    "MetricsSettings",
    "PaperSettings",
    "PromotionSettings",
    "RiskSettings",
    "ShutdownSettings",
    "SimSettings",
    "SlotConfig",
    "SupervisorSettings",
    "SwapMode",
    "VenueKind",
    "VenueSettings",
    "load_config",
    "parse_config",
]

#: Endpoints per venue kind: (REST, public WS, private WS). Overridable per key in [venue.bybit].
#: Kinds that trade without API keys (paper: public market data only).
KEYLESS_KINDS: Final = ("sim", "bybit-paper")

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
    raw = decode(data, ConfigFile)
    base = path.parent
    risk = RiskSettings(
        max_notional_per_slot=raw.risk.max_notional_per_slot,
        max_open_orders_per_slot=raw.risk.max_open_orders_per_slot,
        stale_book_timeout_ms=raw.risk.stale_book_timeout_ms,
        kill_all=raw.risk.kill_all,
        max_daily_loss=_brake("risk.max_daily_loss", raw.risk.max_daily_loss),
        max_drawdown=_brake("risk.max_drawdown", raw.risk.max_drawdown),
        max_daily_loss_per_slot=_brake(
            "risk.max_daily_loss_per_slot", raw.risk.max_daily_loss_per_slot
        ),
        max_drawdown_per_slot=_brake("risk.max_drawdown_per_slot", raw.risk.max_drawdown_per_slot),
    )
    promotion = raw.promotion
    if promotion.target_multiple <= 1:
        raise ConfigError(
            "promotion.target_multiple: must be > 1 (the target is a gain), "
            f"got {promotion.target_multiple}"
        )
    return Config(
        path=path,
        text=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        venue=_venue(raw.venue),
        slots=_slots(raw.slot, base, risk),
        journal=_journal(raw.journal, base),
        challengers=ChallengerSettings(
            directory=resolve_path("challengers.directory", raw.challengers.directory, base),
            max_file_bytes=raw.challengers.max_file_bytes,
        ),
        control=_control(raw, base),
        metrics=_metrics(raw.metrics),
        paper=paper_settings(raw.paper, BYBIT_ENDPOINTS),
        risk=risk,
        log=LogSettings(format=raw.log.format, level=raw.log.level),
        shutdown=ShutdownSettings(raw.shutdown.cancel_open_orders, raw.shutdown.grace_ms),
        promotion=PromotionSettings(
            min_windows=promotion.min_windows,
            window_s=promotion.window_s,
            alpha=promotion.alpha,
            target_multiple=promotion.target_multiple,
            swap_mode=promotion.swap_mode,
        ),
        supervisor=_supervisor(raw.supervisor),
        alerts=alert_settings(raw.alerts),
    )


def _venue(raw: VenueFile) -> VenueSettings:
    # The sim and paper venues ignore [venue.bybit] (paper reads [paper]), but its URLs are
    # still checked: a typo is a typo.
    kind = raw.kind if raw.kind in BYBIT_ENDPOINTS else "bybit-testnet"
    rest, public, private = BYBIT_ENDPOINTS[kind]
    bybit = raw.bybit
    return VenueSettings(
        kind=raw.kind,
        sim=SimSettings(seed=raw.sim.seed),
        bybit=BybitSettings(
            rest_url=url("venue.bybit.rest_url", bybit.rest_url, rest, ("https", "http")),
            ws_public_url=url(
                "venue.bybit.ws_public_url", bybit.ws_public_url, public, ("wss", "ws")
            ),
            ws_private_url=url(
                "venue.bybit.ws_private_url", bybit.ws_private_url, private, ("wss", "ws")
            ),
            recv_window_ms=bybit.recv_window_ms,
        ),
        foreign_orders=raw.foreign_orders,
    )


def _slots(raws: list[SlotFile], base: Path, risk: RiskSettings) -> tuple[SlotConfig, ...]:
    slots: list[SlotConfig] = []
    owner: dict[str, int] = {}
    for index, raw in enumerate(raws):
        key = f"slot[{index}]"
        if raw.symbol in owner:
            # One-way positions are per symbol on the venue: two slots would share one position
            # and reconciliation could not tell them apart.
            raise ConfigError(
                f"{key}.symbol: {raw.symbol} is already traded by slot[{owner[raw.symbol]}]"
            )
        owner[raw.symbol] = index
        strategy = resolve_path(f"{key}.strategy", raw.strategy, base)
        _check_readable(f"{key}.strategy", strategy)
        if raw.max_qty < raw.min_qty:
            raise ConfigError(
                f"{key}.max_qty: must be >= min_qty ({raw.min_qty}), got {raw.max_qty}"
            )
        slots.append(
            SlotConfig(
                index=index,
                symbol=raw.symbol,
                strategy=strategy,
                capital=raw.capital,
                min_qty=raw.min_qty,
                max_qty=raw.max_qty,
                leverage=raw.leverage,
                max_daily_loss=_brake(f"{key}.max_daily_loss", raw.max_daily_loss)
                if raw.max_daily_loss is not None
                else risk.max_daily_loss_per_slot,
                max_drawdown=_brake(f"{key}.max_drawdown", raw.max_drawdown)
                if raw.max_drawdown is not None
                else risk.max_drawdown_per_slot,
            )
        )
    return tuple(slots)


def _check_readable(key: str, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{key}: {path} is a directory, not a strategy file") from None
    except OSError as exc:
        raise ConfigError(f"{key}: {path} cannot be read: {exc.strerror}") from None


def _journal(raw: JournalFile, base: Path) -> JournalSettings:
    if 0 < raw.retain_bytes < 1 << 20:
        what = "expected 0 (no limit) or at least 1048576"
        raise ConfigError(f"journal.retain_bytes: {what}, got {raw.retain_bytes}")
    archive = raw.archive_directory
    return JournalSettings(
        directory=resolve_path("journal.directory", raw.directory, base),
        fsync=raw.fsync,
        group_commit_max_delay_ms=raw.group_commit_max_delay_ms,
        snapshot_every_events=raw.snapshot_every_events,
        retain_days=raw.retain_days or None,
        retain_bytes=raw.retain_bytes or None,
        archive_directory=resolve_path("journal.archive_directory", archive, base)
        if archive
        else None,
    )


def _control(raw: ConfigFile, base: Path) -> ControlSettings:
    socket = resolve_path("control.socket", raw.control.socket, base)
    # sun_path holds 108 bytes including the terminating NUL on Linux.
    if len(str(socket).encode()) > 107:
        raise ConfigError(f"control.socket: {socket} is too long for a Unix socket (max 107 bytes)")
    return ControlSettings(socket=socket, allowed_uids=raw.control.allowed_uids)


def _metrics(raw: MetricsFile) -> MetricsSettings:
    """``listen = "HOST:PORT"`` ("" = off). Loopback only: the endpoint has no authentication
    and shows positions and equity, so anything wider goes through a proxy the operator runs."""
    listen = raw.listen
    if not listen:
        return MetricsSettings(listen=None)
    host, sep, port_text = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    example = 'like "127.0.0.1:9464" or "[::1]:9464"'
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"metrics.listen: expected HOST:PORT {example}, got {shown(listen)}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ConfigError(f"metrics.listen: port must be 1..65535, got {port}")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        what = f"expected an IP address {example}, got {shown(host)}"
        raise ConfigError(f"metrics.listen: {what}") from None
    if not loopback:
        raise ConfigError(
            f"metrics.listen: {host} is not a loopback address; metrics are served on loopback only"
        )
    return MetricsSettings(listen=(host, port))


def _brake(key: str, value: Decimal | None) -> Decimal | None:
    """A risk brake in USDT (None: off), exact in the ledger's unit (1e-8 USDT), so the core's
    integer limit is the configured amount, never a rounding of it. Its range (positive, at most
    ``MAX_BRAKE``) is the schema's (``config_schema.Brake``)."""
    if value is not None and value != value.quantize(_E8_STEP):
        raise ConfigError(f"{key}: at most 8 decimals (1e-8 USDT), got {value}")
    return value


def _supervisor(raw: SupervisorFile) -> SupervisorSettings:
    if raw.restart_backoff_max_ms < raw.restart_backoff_initial_ms:
        raise ConfigError(
            "supervisor.restart_backoff_max_ms: must be >= restart_backoff_initial_ms "
            f"({raw.restart_backoff_initial_ms})"
        )
    return SupervisorSettings(
        restart_backoff_initial_ms=raw.restart_backoff_initial_ms,
        restart_backoff_max_ms=raw.restart_backoff_max_ms,
        max_crashes=raw.max_crashes,
        crash_window_s=raw.crash_window_s,
    )
