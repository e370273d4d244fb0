"""The one settings class. Values come from ``config.yaml`` and ``HOTLINE_*`` environment variables.

Environment variables win over the file; nested keys use ``__`` (``HOTLINE_DATABASE__URL``).
A bad value stops start-up with :class:`ConfigError`, whose message is one line naming the key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = "config.yaml"


class ConfigError(Exception):
    """A configuration value is wrong; the message names the key and the problem in one line."""


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///./var/hotline.db"
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = ""  # how the police reach us (attachment links in tips); empty: http://host:port
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges); empty: the peer is the client.
    trusted_proxies: list[str] = Field(default_factory=list)
    # FastAPI's interactive /docs loads its code from a CDN: off unless asked for (/openapi.json stays).
    api_docs: bool = False
    # Pin `hotline serve` to this CPU (Linux); null: wherever the kernel puts it. See handlers/cpu.py.
    cpu: int | None = Field(default=None, ge=0)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR range") from None
        return value


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str | None = "./var/log/hotline.log"


class ProvinceSettings(_Section):
    name: str = "Tỉnh Cà Mau"
    police_name: str = "Công an tỉnh"
    hotline: str = "113"
    email: str = "tiepnhan@congan.example.vn"


class BotSettings(_Section):
    default_locale: Literal["vi", "en"] = "vi"
    max_text_chars: int = Field(default=4000, ge=100, le=100_000)
    reference_prefix: str = Field(default="TG", pattern=r"^[A-Z]{2,4}$")
    flows_dir: str | None = None  # None: the flows shipped in handlers/flows


class TelegramSettings(_Section):
    # Empty token: the Telegram channel is off.
    token: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""  # public https URL of our /telegram/webhook route (webhook mode)
    secret_token: str = ""  # X-Telegram-Bot-Api-Secret-Token expected on webhook calls
    api_base: str = "https://api.telegram.org"  # Bot API server root (self-hosted or a local fake)
    officers_chat_id: str = ""  # the officers' group that receives tip cards (intake sink "telegram")
    officer_ids: list[str] = Field(default_factory=list)  # Telegram user ids allowed to press tip-card buttons


class ZaloSettings(_Section):
    """The Zalo Official Account channel; on when ``app_id`` and ``secret_key`` are set."""

    app_id: str = ""  # the Zalo app linked to the OA (developers.zalo.me)
    secret_key: str = ""  # the OA secret key: Zalo signs every webhook event with it (X-ZEvent-Signature)
    app_secret: str = ""  # the app's own secret key: OAuth code exchange and token refresh
    api_base: str = "https://openapi.zalo.me"  # OA Open API root (a local fake in tests)
    oauth_base: str = "https://oauth.zaloapp.com"  # OAuth v4 root
    redirect_uri: str = ""  # the app's registered callback URL (where Zalo sends the authorisation code)
    # Events older than this are refused as replays; it covers Zalo's own retries (up to ~2 hours).
    signature_max_age_seconds: int = Field(default=7200, ge=60, le=86_400)
    max_buttons: int = Field(default=5, ge=1, le=10)  # more options than this become numbered text
    messages_per_second: float = Field(default=10.0, gt=0, le=1000)  # our pace, under Zalo's per-app limit

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.secret_key)


class ZaloBotSettings(_Section):
    """The Zalo Bot Platform channel (a Telegram-like bot API); on when ``token`` and ``secret_token`` are set."""

    token: str = ""  # the Bot Token Zalo Bot Creator sends ("<bot id>:<secret>")
    # The secret Zalo sends back in X-Bot-Api-Secret-Token on every webhook call (8–256 characters, ours).
    secret_token: str = Field(default="", pattern=r"^$|^[\x21-\x7e]{8,256}$")
    api_base: str = "https://bot-api.zaloplatforms.com"  # Bot API root (a local fake in tests)
    webhook_url: str = ""  # public https URL of our /webhooks/zalo-bot (`hotline zalo-bot set-webhook`)
    messages_per_second: float = Field(default=10.0, gt=0, le=1000)  # our pace (Zalo publishes no figure)

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.secret_token)


class WebchatSettings(_Section):
    title: str = "Hotline chống lừa đảo"
    color: str = Field(default="#0b5394", pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str = ""  # served by us (a path under /static/) — never a third-party URL
    # Origins allowed to embed the widget (the school websites); empty = same origin only.
    allowed_origins: list[str] = Field(default_factory=list)
    cookie_secure: bool = False  # set true behind HTTPS


class WebhookSinkSettings(_Section):
    url: str = ""
    secret: str = ""
    timeout_seconds: float = Field(default=10.0, gt=0)


class BrokerSinkSettings(_Section):
    kind: Literal["rabbit", "nats", "kafka"] = "rabbit"
    url: str = ""  # amqp://guest:guest@127.0.0.1:5672/ | nats://127.0.0.1:4222 | kafka host:port
    subject: str = "hotline.tips.v1"  # queue (RabbitMQ), subject (NATS) or topic (Kafka)


SinkName = Literal["console", "telegram", "webhook", "broker"]


def _default_sinks() -> list[SinkName]:
    return ["console"]


class IntakeSettings(_Section):
    # Where confirmed tips go besides the console queue (always on): any of telegram, webhook, broker.
    sinks: list[SinkName] = Field(default_factory=_default_sinks)
    webhook: WebhookSinkSettings = WebhookSinkSettings()
    broker: BrokerSinkSettings = BrokerSinkSettings()
    max_attempts: int = Field(default=12, ge=1, le=100)  # then the outbox row is parked as dead
    base_backoff_seconds: float = Field(default=2.0, gt=0)
    run_forwarder: bool = True  # run the forwarder inside `hotline serve` (else: `hotline forwarder`)


class NluSettings(_Section):
    # local: the in-process classifier (trained from nlu/data/nlu.yml). rasa: ask a running Rasa server's
    # /model/parse for the intent (entities and redaction stay local); errors fall back to local.
    backend: Literal["local", "rasa"] = "local"
    rasa_url: str = "http://127.0.0.1:5005"
    timeout_seconds: float = Field(default=2.0, gt=0)
    model_path: str = "./var/nlu/model.npz"  # saved by `hotline nlu train`; retrained when missing or stale
    # Below this confidence the bot asks which of the top choices the parent means instead of guessing.
    low_confidence: float = Field(default=0.5, ge=0, le=1)


class SecuritySettings(_Section):
    # Encryption keys for personal data at rest: {key id: base64 of 32 random bytes}. Empty: the keys live
    # in key_file, created on first start (fine on one machine; use env/secret storage in production).
    keys: dict[str, str] = Field(default_factory=dict)
    current_key: str = ""
    index_key: str = ""  # base64 32 bytes: keys the blind indexes (hashes used for lookups)
    key_file: str = "./var/keys.json"
    # Inbound messages allowed per chat: a burst, then a steady rate per minute (token bucket).
    user_burst: int = Field(default=40, ge=1)
    user_per_minute: int = Field(default=60, ge=1)
    global_per_second: int = Field(default=2000, ge=1)
    # A chat that keeps hitting the limit is blocked for this long (officers can lift it).
    block_after_violations: int = Field(default=5, ge=1)
    block_minutes: int = Field(default=30, ge=1)
    # Per client address (many parents can share one: carrier NAT, a school network), whatever the chat id.
    address_burst: int = Field(default=300, ge=1)
    address_per_minute: int = Field(default=300, ge=1)
    # New web-chat sessions one address may open: a burst, then this many per hour.
    new_sessions_burst: int = Field(default=30, ge=1)
    new_sessions_per_hour: int = Field(default=120, ge=1)


class RetentionSettings(_Section):
    closed_tip_days: int = Field(default=180, ge=1)  # personal data of closed tips, then anonymised
    conversation_days: int = Field(default=30, ge=1)  # idle conversations (dedupe records: 48 h)
    run_every_minutes: int = Field(default=60, ge=1)  # the scheduled job inside `hotline serve`
    # A tip nobody closed keeps its personal data at most this long after it was filed (nothing forever).
    open_tip_max_days: int = Field(default=365, ge=1)
    # Warning subscriptions the parent stopped (or that the platform said were blocked) are deleted this long
    # after they ended; their chat id went when they ended.
    subscription_days: int = Field(default=30, ge=1)
    # A finished broadcast's row per recipient (who got it, what the platform said) is dropped this long after
    # it finished; its counts stay for the console and the monthly report.
    broadcast_recipient_days: int = Field(default=30, ge=1)


class WorkflowSettings(_Section):
    # Minutes to the first officer action: money moving now / an OTP just given, and other urgent tips.
    first_action_minutes_harm: int = Field(default=15, ge=0)
    first_action_minutes_urgent: int = Field(default=60, ge=0)
    # A taken tip whose officer did nothing on it for this long goes back to the queue.
    release_idle_minutes: int = Field(default=120, ge=5)


class EvidenceSettings(_Section):
    """Reading screenshots, QR codes and APK files (handlers/evidence): limits of the worker pool."""

    enabled: bool = True  # false: files are only stored, as before
    workers: int = Field(default=2, ge=1, le=16)  # worker processes (one OCR each); the machine's cores
    queue: int = Field(default=8, ge=0, le=1000)  # files waiting beyond the workers before "busy"
    job_seconds: float = Field(default=30.0, gt=0, le=600)  # one file, start to end; the worker is replaced after
    ocr_seconds: float = Field(default=20.0, gt=0, le=600)  # tesseract alone (killed after)
    max_pixels: int = Field(default=40_000_000, ge=100_000)  # decompression bombs are refused before decoding
    max_apk_mb: int = Field(default=10, ge=1, le=10)  # at most the attachment limit
    official_apps: str = ""  # a YAML file replacing handlers/evidence/data/official_apps.yaml


class AlertRuleSettings(_Section):
    """A campaign: this many distinct reporters naming one key within the window."""

    threshold: int = Field(default=5, ge=2, le=200)
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class AlertSettings(_Section):
    """Campaign alerts (storage/alerts.py): counted as tips are filed, raised once per campaign."""

    enabled: bool = True
    phone: AlertRuleSettings = AlertRuleSettings()  # the same caller number
    domain: AlertRuleSettings = AlertRuleSettings()  # the same link domain
    bank_account: AlertRuleSettings = AlertRuleSettings()  # the same bank account
    pretext_commune: AlertRuleSettings = AlertRuleSettings()  # the same pretext in one commune
    # A campaign runs until this long passes without its window at the threshold; a later wave is a new alert.
    campaign_gap_hours: int = Field(default=24, ge=1, le=24 * 90)
    telegram: bool = True  # post new alerts to the officers' group (when the telegram sink is configured)


Role = Literal["officer", "supervisor", "admin", "reporter"]


class ConsoleSettings(_Section):
    """The officers' and admins' console under /console."""

    enabled: bool = True
    cookie_secure: bool = True  # the session cookie is Secure; set false only for http://localhost
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)  # signed out after this long without a request
    session_max_hours: int = Field(default=12, ge=1, le=7 * 24)  # signed out after this long whatever happens
    # Roles that must use a TOTP second factor (enrolment is offered at their first sign-in).
    require_totp: list[Role] = Field(default_factory=lambda: list[Role](["supervisor", "admin"]))
    login_max_failures: int = Field(default=5, ge=1)  # per account, then the account is locked for a while
    login_lock_minutes: int = Field(default=15, ge=1)
    login_ip_per_hour: int = Field(default=30, ge=1)  # failed sign-ins from one address before it is refused
    # Working hours of the officers who answer "gặp cán bộ" (local time, Asia/Ho_Chi_Minh), Monday = 1.
    working_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    working_hours: str = Field(default="07:30-17:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    handoff_idle_minutes: int = Field(default=20, ge=1)  # a live chat with no message is handed back to the bot


class ContentSettings(_Section):
    """What admins edit in the console (flows, FAQ, directory): how fast every process picks a change up."""

    # Each process looks for newly published flow versions this often (seconds).
    flows_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # A fresh install gets the shipped FAQ answers and a clearly marked sample school directory.
    seed_samples: bool = False


class BroadcastSettings(_Section):
    """Awareness broadcasts to subscribed parents (bot/broadcast_delivery.py)."""

    # Messages per second per platform, under its limit (Telegram allows about 30/s overall).
    # Telegram: the channel's own limiter (28, each call counted until it returns) keeps the hard limit;
    # bench/bench_broadcast.py measures the rate reached.
    per_second: dict[str, float] = Field(default_factory=lambda: {"telegram": 28.0, "zalo": 8.0, "web": 50.0})
    default_per_second: float = Field(default=10.0, gt=0, le=1000)
    in_flight: int = Field(default=4, ge=1, le=64)  # sends waiting for their platform's answer at once
    # Network trouble or rate limits: retried with backoff (5 s doubling to 10 min, about 50 min in all), then
    # the recipient is given up ("gave_up").
    max_attempts: int = Field(default=12, ge=1, le=50)
    # A chat that can only be reached when the parent comes back (web chat, HTTP API) waits this long.
    visit_days: int = Field(default=14, ge=1, le=365)

    @field_validator("per_second")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for name, rate in value.items():
            if not 0 < rate <= 1000:
                raise ValueError(f"{name}: a rate between 0 and 1000 messages per second")
        return value


class Settings(BaseSettings):
    """Everything Hotline can be told. Documented in place in ``config.yaml``."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_nested_delimiter="__", extra="forbid")

    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    logging: LoggingSettings = LoggingSettings()
    province: ProvinceSettings = ProvinceSettings()
    bot: BotSettings = BotSettings()
    telegram: TelegramSettings = TelegramSettings()
    zalo: ZaloSettings = ZaloSettings()
    zalo_bot: ZaloBotSettings = ZaloBotSettings()
    webchat: WebchatSettings = WebchatSettings()
    intake: IntakeSettings = IntakeSettings()
    nlu: NluSettings = NluSettings()
    security: SecuritySettings = SecuritySettings()
    retention: RetentionSettings = RetentionSettings()
    workflow: WorkflowSettings = WorkflowSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    console: ConsoleSettings = ConsoleSettings()
    alerts: AlertSettings = AlertSettings()
    content: ContentSettings = ContentSettings()
    broadcast: BroadcastSettings = BroadcastSettings()
    data_dir: str = "./var/data"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("HOTLINE_CONFIG", DEFAULT_CONFIG_FILE)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path != DEFAULT_CONFIG_FILE and not Path(path).is_file():
            raise ValueError(f"config file {path!r} (from HOTLINE_CONFIG) does not exist")
        if Path(path).is_file():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path, yaml_file_encoding="utf-8"))
        return tuple(sources)


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Build settings from the file (``config_file`` or ``$HOTLINE_CONFIG`` or ``./config.yaml``) and env.

    Raises :class:`ConfigError` with a one-line message on any invalid value.
    """
    if config_file is not None:
        if not Path(config_file).is_file():
            raise ConfigError(f"config file {config_file!r} does not exist")
        os.environ["HOTLINE_CONFIG"] = config_file
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(root)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"config: {key}: {first['msg']}{more}") from None
    except SettingsError as exc:
        # pydantic-settings names only the section ("intake") of an environment value it cannot decode.
        raise ConfigError(_env_culprit(overrides) or f"config: {exc}".splitlines()[0]) from None
    except (OSError, ValueError) as exc:  # unreadable or malformed YAML
        raise ConfigError(f"config: {exc}".splitlines()[0]) from None


def _env_culprit(overrides: dict[str, Any]) -> str | None:
    """The HOTLINE_* variable whose value is not the JSON its (list or mapping) key needs, named as a key."""
    for name, value in sorted(os.environ.items()):
        if not name.startswith("HOTLINE_") or name == "HOTLINE_CONFIG":
            continue
        try:
            json.loads(value)
            continue
        except ValueError:
            pass
        os.environ.pop(name)
        try:
            Settings(**overrides)
            fixed = True
        except (SettingsError, ValidationError, ValueError, OSError):
            fixed = False
        finally:
            os.environ[name] = value
        if fixed:
            key = name.removeprefix("HOTLINE_").lower().replace("__", ".")
            return (f"config: {key}: {name} is not valid JSON; lists and mappings are written as JSON, "
                    f"e.g. {name}='[\"console\", \"webhook\"]'")
    return None
