"""Where alerts go: a generic webhook (JSON POST) and Telegram (Bot API ``sendMessage``).

Each destination turns an ``Alert`` into one HTTP request and judges the answer: delivered,
failed and worth retrying (no answer, a timeout, 5xx, 429 with Telegram's ``retry_after``), or
failed for good (any other 4xx: a wrong chat id, a revoked token). The actor
(``asnd.alerts.actor``) owns the retries, the rate limit and the logging.

Secrets: the webhook URL (it usually holds a token) and the bot token come from
``$ASN_ALERTS_WEBHOOK_URL`` / ``$ASN_ALERTS_TELEGRAM_TOKEN`` or the systemd credentials
``alerts-webhook-url`` / ``alerts-telegram-token`` (``asnd.credential_source``). They are
registered with the log redactor as soon as they are read, and every reason this module
gives is passed through ``mask`` first, so neither appears in a log line or an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol
from urllib.parse import urlsplit

import httpx

from asnd.alerts.messages import Alert
from asnd.alerts.settings import AlertSettings, AlertsSetupError
from asnd.config_decode import LOOPBACK_HOSTS
from asnd.credential_source import CredentialError, lookup_secret
from asnd.log import REDACTED, register_secret

__all__ = [
    "ENV_TELEGRAM_TOKEN",
    "ENV_WEBHOOK_URL",
    "FILE_TELEGRAM_TOKEN",
    "FILE_WEBHOOK_URL",
    "AlertsSetupError",
    "Delivery",
    "Destination",
    "Telegram",
    "Webhook",
    "destinations",
]

ENV_WEBHOOK_URL: Final = "ASN_ALERTS_WEBHOOK_URL"
ENV_TELEGRAM_TOKEN: Final = "ASN_ALERTS_TELEGRAM_TOKEN"
FILE_WEBHOOK_URL: Final = "alerts-webhook-url"  # systemd/asnd.service LoadCredential= names
FILE_TELEGRAM_TOKEN: Final = "alerts-telegram-token"
#: Telegram's limit for one message's text; longer texts are cut (the journal has it all).
TELEGRAM_MAX_TEXT: Final = 4096
#: How much of an error answer's body a reason keeps.
MAX_BODY: Final = 200


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one attempt went. ``ok``: delivered; else ``reason`` (masked), whether trying again
    may help, and the wait the destination asked for (Telegram's ``retry_after``), if any."""

    ok: bool
    reason: str = ""
    retryable: bool = False
    retry_after_s: float | None = None


DELIVERED: Final = Delivery(True)


class Destination(Protocol):
    name: str
    min_interval_s: float  # the rate limit: at most one request per this many seconds

    async def send(self, client: httpx.AsyncClient, alert: Alert) -> Delivery: ...

    def mask(self, text: str) -> str:
        """``text`` with the destination's secrets replaced."""
        ...


class _Http:
    """The part both destinations share: one POST, its answer judged, every reason masked."""

    name: str
    min_interval_s: float
    _secrets: tuple[str, ...]

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    async def _post(self, client: httpx.AsyncClient, url: str, body: object) -> Delivery:
        try:
            answer = await client.post(url, json=body)
        except httpx.TimeoutException as exc:
            return Delivery(False, self.mask(f"timed out ({type(exc).__name__})"), True)
        except httpx.HTTPError as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            return Delivery(False, self.mask(f"no answer: {detail}"), True)
        if answer.is_success:
            return self._judge_success(answer)
        text = " ".join(answer.text.split())[:MAX_BODY]
        reason = self.mask(f"HTTP {answer.status_code}" + (f": {text}" if text else ""))
        if answer.status_code == 429:
            return Delivery(False, reason, True, _retry_after(answer))
        return Delivery(False, reason, answer.status_code >= 500)

    def _judge_success(self, answer: httpx.Response) -> Delivery:
        return DELIVERED


def _retry_after(answer: httpx.Response) -> float | None:
    """The wait a 429 asks for: Telegram's ``parameters.retry_after``, else ``Retry-After``."""
    try:
        seconds = json.loads(answer.text)["parameters"]["retry_after"]
        return float(seconds)
    except (ValueError, KeyError, TypeError):
        pass
    header = answer.headers.get("retry-after", "")
    try:
        return float(header)
    except ValueError:
        return None


class Webhook(_Http):
    """POST the alert's JSON (``Alert.payload``) to a URL; any 2xx is delivered."""

    def __init__(self, url: str, min_interval_s: float) -> None:
        self.name = "webhook"
        self.min_interval_s = min_interval_s
        self._url = url
        self._secrets = (url,)

    async def send(self, client: httpx.AsyncClient, alert: Alert) -> Delivery:
        return await self._post(client, self._url, alert.payload())


class Telegram(_Http):
    """Bot API ``sendMessage`` to one chat; delivered when Telegram answers ``ok: true``."""

    def __init__(self, api_url: str, token: str, chat_id: str, min_interval_s: float) -> None:
        self.name = "telegram"
        self.min_interval_s = min_interval_s
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self._chat_id = chat_id
        self._secrets = (token,)

    async def send(self, client: httpx.AsyncClient, alert: Alert) -> Delivery:
        body = {
            "chat_id": self._chat_id,
            "text": alert.message()[:TELEGRAM_MAX_TEXT],
            "disable_web_page_preview": True,
        }
        return await self._post(client, self._url, body)

    def _judge_success(self, answer: httpx.Response) -> Delivery:
        try:
            ok = json.loads(answer.text).get("ok") is True
        except (ValueError, AttributeError):
            ok = False
        if ok:
            return DELIVERED
        text = " ".join(answer.text.split())[:MAX_BODY]
        return Delivery(False, self.mask(f"Telegram did not say ok: {text}"), False)


def _secret(variable: str, credential: str, what: str, environ: Mapping[str, str] | None) -> str:
    try:
        value = lookup_secret(variable, credential, environ)
    except CredentialError as exc:
        raise AlertsSetupError(f"alerts: {exc}") from None
    if value is None:
        raise AlertsSetupError(
            f"alerts: {what} is enabled but has no secret: set ${variable} or the systemd "
            f"credential {credential}"
        )
    register_secret(value)  # from here on, no log line can show it
    return value


def _check_webhook_url(url: str) -> None:
    """https, or http to a loopback host (a local test server); never shows the URL."""
    parts = urlsplit(url)
    where = f"${ENV_WEBHOOK_URL} / credential {FILE_WEBHOOK_URL}"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise AlertsSetupError(f"alerts: the webhook URL ({where}) is not an https:// URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise AlertsSetupError(
            f"alerts: the webhook URL ({where}) must be https:// (http:// only to loopback)"
        )


def destinations(
    settings: AlertSettings, environ: Mapping[str, str] | None = None
) -> list[Destination]:
    """The enabled destinations, their secrets loaded. Raises ``AlertsSetupError``."""
    out: list[Destination] = []
    if settings.webhook.enabled:
        url = _secret(ENV_WEBHOOK_URL, FILE_WEBHOOK_URL, "the webhook", environ)
        _check_webhook_url(url)
        out.append(Webhook(url, settings.webhook.min_interval_ms / 1000))
    gram = settings.telegram
    if gram.enabled:
        token = _secret(ENV_TELEGRAM_TOKEN, FILE_TELEGRAM_TOKEN, "telegram", environ)
        if "/" in token or any(c.isspace() for c in token):
            raise AlertsSetupError(
                f"alerts: the Telegram bot token (${ENV_TELEGRAM_TOKEN} / credential "
                f"{FILE_TELEGRAM_TOKEN}) is not a token like 123456:ABC-DEF..."
            )
        out.append(Telegram(gram.api_url, token, gram.chat_id, gram.min_interval_ms / 1000))
    return out
