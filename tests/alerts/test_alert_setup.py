"""``[alerts]`` validation, the secrets' sources (env, systemd credentials) and their masking,
and what each journaled event's alert says."""

from __future__ import annotations

from pathlib import Path

import pytest

from asnd.alerts.destinations import AlertsSetupError, Telegram, Webhook, destinations
from asnd.alerts.messages import alert_for
from asnd.config import ConfigError, load_config
from journal.events import Event, Liquidation, ModelDead, Promotion, Resume, RiskHalt, TradingHalted

from ..daemon.harness import make_config

TOKEN = "123456:AAF-s3cr3t-bot-token"


def configured(tmp_path: Path, alerts: str) -> Path:
    path = make_config(tmp_path)
    text = path.read_text()
    head = text[: text.index("[alerts]")]
    path.write_text(head + alerts)
    return path


ON = """
[alerts]
daily_summary_utc = "07:30"
[alerts.webhook]
enabled = true
min_interval_ms = 250
[alerts.telegram]
enabled = true
chat_id = "-1001234567890"
api_url = "http://127.0.0.1:8081"
"""


def test_the_documented_defaults_are_off_and_a_full_section_reads_back(tmp_path: Path) -> None:
    defaults = load_config(make_config(tmp_path / "a")).alerts
    assert not defaults.enabled
    assert defaults.daily_summary_utc == 0
    assert (defaults.feed_lost_after_s, defaults.attempts, defaults.queue_size) == (30, 5, 256)
    on = load_config(configured(tmp_path / "b", ON)).alerts
    assert on.enabled
    assert on.daily_summary_utc == 7 * 60 + 30
    assert on.webhook.min_interval_ms == 250
    assert (on.telegram.chat_id, on.telegram.api_url) == ("-1001234567890", "http://127.0.0.1:8081")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[alerts]\ndaily_summary_utc = "25:00"\n', 'alerts.daily_summary_utc: expected "HH:MM"'),
        ("[alerts.telegram]\nenabled = true\n", "alerts.telegram.chat_id: required when"),
        ('[alerts.telegram]\napi_url = "http://example.com"\n', "alerts.telegram.api_url: http://"),
        ("[alerts]\nretry_initial_ms = 5000\nretry_max_ms = 10\n", "alerts.retry_max_ms: must be"),
        ("[alerts.webhook]\nurl = 1\n", "unknown key: alerts.webhook.url"),
        ('[alerts.telegram]\nbot_token = "x"\n', "alerts.telegram.bot_token: secrets do not"),
        ("[alerts]\nqueue_size = 0\n", "alerts.queue_size: expected an integer from 1"),
    ],
)
def test_bad_alert_settings_name_the_key(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")):
        load_config(configured(tmp_path, section))


def test_secrets_come_from_systemd_credentials_first_then_the_environment(tmp_path: Path) -> None:
    settings = load_config(configured(tmp_path, ON)).alerts
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "alerts-webhook-url").write_text("https://hooks.example.com/from-credential\n")
    env = {
        "CREDENTIALS_DIRECTORY": str(creds),
        "ASN_ALERTS_WEBHOOK_URL": "https://hooks.example.com/from-env",
        "ASN_ALERTS_TELEGRAM_TOKEN": TOKEN,
    }
    hook, gram = destinations(settings, env)
    assert isinstance(hook, Webhook)
    assert isinstance(gram, Telegram)
    assert hook.mask("POST https://hooks.example.com/from-credential") == "POST [REDACTED]"
    assert gram.mask(f"/bot{TOKEN}/sendMessage") == "/bot[REDACTED]/sendMessage"
    assert (hook.min_interval_s, gram.min_interval_s) == (0.25, 1.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ASN_ALERTS_TELEGRAM_TOKEN": TOKEN}, r"the webhook is enabled but has no secret: set "
         r"\$ASN_ALERTS_WEBHOOK_URL or the systemd credential alerts-webhook-url"),
        ({"ASN_ALERTS_WEBHOOK_URL": "http://hooks.example.com/s3cr3t",
          "ASN_ALERTS_TELEGRAM_TOKEN": TOKEN}, r"must be https:// \(http:// only to loopback\)"),
        ({"ASN_ALERTS_WEBHOOK_URL": "https://h.example.com/x",
          "ASN_ALERTS_TELEGRAM_TOKEN": "not a/token"}, "is not a token like"),
    ],
)  # fmt: skip
def test_a_missing_or_unusable_secret_is_one_line_that_never_shows_it(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    settings = load_config(configured(tmp_path, ON)).alerts
    with pytest.raises(AlertsSetupError, match=message) as caught:
        destinations(settings, env)
    text = str(caught.value)
    assert "\n" not in text
    assert "s3cr3t" not in text
    assert "not a/token" not in text


@pytest.mark.parametrize(
    ("event", "title", "text"),
    [
        (TradingHalted(4, 1, "critical actor feed crashed 5 times within 300 s; last error: x"),
         "ASN: trading halted (actor_crashed)", "critical actor feed crashed 5 times"),
        (RiskHalt(4, 1, 1, "max_daily_loss", "slot 1: lost 50.00 USDT today", 20_789),
         "ASN: risk brake max_daily_loss stopped slot 1 (ETHUSDT)", "slot 1: lost 50.00 USDT"),
        (Resume(4, 1, 1, "operator: asnctl resume"), "ASN: slot 1 (ETHUSDT) resumed", "operator"),
        (ModelDead(4, 1, 0, -123_456_789), "ASN: slot 0 (BTCUSDT) is dead (sudden death)",
         "equity -1.24 USDT <= 0; its position is being liquidated"),
        (Liquidation(4, 1, 0, "BTCUSDT", "asn-0-77", 12), "ASN: slot 0 (BTCUSDT) liquidating",
         "reduce-only order asn-0-77 for 12 lots of BTCUSDT"),
        (Promotion(4, 1, 0, "flat", "champ", 2.5, 0.0123, 30),
         "ASN: slot 0 (BTCUSDT): challenger flat promoted",
         "challenger flat beat champion champ over 30 windows (p = 0.0123)"),
    ],
)  # fmt: skip
def test_what_each_alert_says(event: Event, title: str, text: str) -> None:
    alert = alert_for(event, ["BTCUSDT", "ETHUSDT"])
    assert alert is not None
    assert alert.title == title
    assert alert.text.startswith(text)
    assert alert.payload()["seq"] == 4
