"""One typed settings tree: ``config/default.toml``, then the file named by ``NOTIFIER_CONFIG``,
then ``NOTIFIER_*`` environment variables (nested with ``__``), then explicit overrides.

Built once at the entry point (:func:`load_settings`) and passed down by constructor arguments;
nothing below the entry point reads the environment.
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from notifier.errors import ConfigError
from notifier.paths import data_dir

Channel = Literal["email", "sms", "whatsapp"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "whatsapp")

TRIGGERS: tuple[str, ...] = (
    "order_confirmed",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "failed_attempt",
    "available_for_pickup",
    "delivered",
    "exception",
    "delayed",
    "returned_to_sender",
    "feedback_request",
    "return_update",
    "refund_update",
)

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    """Base of every link we send (tracking page, unsubscribe); no trailing slash."""
    session_secret: SecretStr = SecretStr("change-me-in-production")

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


class PollSettings(_Section):
    interval: float = Field(10.0, gt=0)  # s between sweeps
    chunk_size: int = Field(500, ge=1)  # shipments leased and written per transaction
    lease: float = Field(300.0, gt=0)  # s a leased shipment stays ours
    concurrency: int = Field(16, ge=1)  # carrier requests in flight per sweep
    request_timeout: float = Field(20.0, gt=0)  # s
    backoff_base: float = Field(300.0, gt=0)  # s after the first failed check
    backoff_max: float = Field(6 * 3600.0, gt=0)  # s
    expire_after_days: float = Field(30.0, gt=0)  # no scan at all for this long: expired


class DispatchSettings(_Section):
    interval: float = Field(5.0, gt=0)  # s between dispatch runs
    batch_size: int = Field(200, ge=1)
    lease: float = Field(120.0, gt=0)  # s; a crash inside a send is retried after this
    concurrency: int = Field(16, ge=1)  # sends in flight (bounded; no unbounded threads)
    max_attempts: int = Field(8, ge=1)
    backoff_base: float = Field(30.0, gt=0)  # s, doubled per attempt, with jitter
    backoff_max: float = Field(3600.0, gt=0)  # s
    sender_pause: float = Field(900.0, gt=0)  # s a sender rests after an auth failure


class WorkersSettings(_Section):
    """Replicas: each daemon's heartbeat, and when the others give up on it."""

    heartbeat: float = Field(5.0, gt=0)  # s between a daemon's heartbeats
    dead_after: float = Field(30.0, gt=0)  # s without a heartbeat: its leases are freed

    @model_validator(mode="after")
    def _margin(self) -> WorkersSettings:
        if self.dead_after < 3 * self.heartbeat:
            raise ValueError("dead_after must be at least 3 heartbeats")
        return self


class RetentionSettings(_Section):
    """What ``notifier db prune`` and the daemon's daily ``retention`` job delete (0: keep
    forever); see :mod:`notifier.store.retention`. The audit record of every message (trigger,
    channel, state, sent_at, provider id) is kept."""

    events_days: float = Field(365.0, ge=0)  # of parcels no longer followed, unchanged this long
    bodies_days: float = Field(90.0, ge=0)  # message subjects/bodies, shoppers' inbound texts
    batch_size: int = Field(1000, ge=1, le=100_000)  # rows per transaction


class NotifyDefaults(_Section):
    """Defaults for every merchant; each merchant may override them in its own settings."""

    channels: list[Channel] = ["email", "whatsapp"]
    disabled_triggers: list[str] = ["in_transit"]
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "08:00"
    quiet_hours_email: bool = False  # email goes at once unless the merchant says otherwise
    feedback_delay_days: float = Field(2.0, ge=0)
    stall_hours: float = Field(72.0, gt=0)  # in transit with no scan this long: delayed
    pickup_stall_hours: float = Field(96.0, gt=0)  # no first scan this long after label: delayed
    country: str = "ID"
    locale: str = "id"
    timezone: str = "Asia/Jakarta"
    # The merchant's own choice of sender per channel ({"sms": "twilio_sms"}); a channel absent
    # here uses the service's [senders] choice. Credentials stay the service's.
    senders: dict[Channel, str] = {}

    @field_validator("quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not _CLOCK.match(v):
            raise ValueError("must be HH:MM (24-hour)")
        return v

    @field_validator("disabled_triggers")
    @classmethod
    def _known_triggers(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(TRIGGERS))
        if unknown:
            raise ValueError(f"unknown trigger(s) {', '.join(unknown)}")
        return v

    def sender_for(self, channel: str) -> str | None:
        """The merchant's own sender for ``channel``; None: the service's."""
        return {str(k): v for k, v in self.senders.items()}.get(channel)

    def quiet_window(self) -> tuple[time, time]:
        return time.fromisoformat(self.quiet_hours_start), time.fromisoformat(self.quiet_hours_end)


class OutboxSenderSettings(_Section):
    dir: Path = Path("var/outbox")


class SendgridSettings(_Section):
    """``senders.sendgrid`` (names are a contract)."""

    api_key: SecretStr | None = None
    api_base: str = "https://api.sendgrid.com"
    from_email: str | None = None
    from_name: str | None = None
    unsubscribe_group: int | None = None  # SendGrid ASM group id, optional
    webhook_public_key: str | None = None  # Event Webhook verification key (base64 ECDSA)
    timeout: float = Field(10.0, gt=0)  # s; the library sets none


class TwilioSettings(_Section):
    """``senders.twilio`` for both ``twilio_sms`` and ``twilio_whatsapp`` (names are a contract)."""

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    api_base: str = "https://api.twilio.com"
    sms_from: str | None = None
    whatsapp_from: str | None = None
    messaging_service_sid: str | None = None
    # WhatsApp business-initiated messages: approved Content templates per trigger and locale,
    # {"shipped": {"id": "HX...", "en": "HX..."}}; what to do on 63016 (outside the session).
    whatsapp_templates: dict[str, dict[str, str]] = {}
    whatsapp_fallback: Literal["template", "sms", "none"] = "template"
    sms_segment_budget: int = Field(3, ge=1)  # segments a merchant pays for per SMS at most
    timeout: float = Field(10.0, gt=0)


class SmtpSettings(_Section):
    """``senders.smtp`` (names are a contract)."""

    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True  # required by default; turn off only for a local relay
    from_email: str | None = None
    from_name: str | None = None
    timeout: float = Field(10.0, gt=0)


# Keys whose values are secrets wherever they appear in a plugin's own section (the typed
# sections declare theirs as SecretStr; ``carriers.aftership.webhook_secret`` is an extra key).
SECRET_WORDS = (
    "secret",
    "password",
    "passphrase",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "consumer_key",
    "signing_key",
    "private_key",
    "credential",
)


def is_secret_key(key: str) -> bool:
    """Whether a plugin setting named ``key`` holds a secret (``client_id``, ``token_url`` not)."""
    lowered = key.lower()
    return any(w in lowered for w in SECRET_WORDS) and not lowered.endswith(("_id", "_url"))


def wrap_secrets(value: Any) -> Any:
    """``value`` with the text under secret-looking keys, at any depth, as SecretStr: masked in
    reprs, ``config show`` and logs. :func:`unwrap_secrets` gives the plain values back."""
    if isinstance(value, dict):
        return {
            k: SecretStr(v) if isinstance(v, str) and is_secret_key(str(k)) else wrap_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [wrap_secrets(v) for v in value]
    return value


def unwrap_secrets(value: Any) -> Any:
    """``value`` with every SecretStr, at any depth, as its plain text (for a constructor)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def mask_url(url: str) -> str:
    """A database URL with its password replaced by ``***``: in the user info (up to the last
    ``@`` before the query, so an unencoded ``@`` or ``/`` in it is still hidden) and in a
    ``password=`` query parameter (libpq takes one there too)."""
    scheme, sep, rest = url.partition("://")
    head, q, query = rest.partition("?")
    at = head.rfind("@")
    colon = head.find(":")
    if sep and 0 <= colon < at and "/" not in head[:colon]:  # sqlite:///a:b@c.db is a path
        head = head[:colon] + ":***" + head[at:]
    query = re.sub(r"(?i)\b(password=)[^&]*", r"\1***", query)
    return f"{scheme}{sep}{head}{q}{query}"


class SendersSettings(BaseModel):
    """Which sender serves each channel, and each sender's own section."""

    model_config = ConfigDict(extra="allow")

    email: str = "outbox"
    sms: str = "outbox"
    whatsapp: str = "outbox"
    outbox: OutboxSenderSettings = OutboxSenderSettings()
    sendgrid: SendgridSettings = SendgridSettings()
    twilio: TwilioSettings = TwilioSettings()
    smtp: SmtpSettings = SmtpSettings()

    @model_validator(mode="after")
    def _wrap_extra_secrets(self) -> SendersSettings:
        """A plugin sender's section (an extra key) has no types: wrap its secrets here."""
        if self.__pydantic_extra__:
            self.__pydantic_extra__ = wrap_secrets(self.__pydantic_extra__)
        return self

    def section(self, sender_id: str) -> dict[str, Any]:
        """A sender's own settings as a plain dict with secrets unwrapped, for the sender's
        constructor only (a plugin's section is given back exactly as configured).

        ``twilio_sms`` and ``twilio_whatsapp`` share the ``twilio`` section.
        """
        key = "twilio" if sender_id.startswith("twilio_") else sender_id
        value = getattr(self, key, None)
        if isinstance(value, BaseModel):
            value = value.model_dump()
        out: dict[str, Any] = unwrap_secrets(value) if isinstance(value, dict) else {}
        return out


class CarrierSettings(BaseModel):
    """One carrier account. Unknown keys are passed to the adapter as they are."""

    model_config = ConfigDict(extra="allow")

    enabled: bool = True
    api_base: str | None = None
    api_key: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _wrap_extra_secrets(self) -> CarrierSettings:
        """Unknown keys have no types: a ``webhook_secret`` or ``password`` is wrapped here."""
        if self.__pydantic_extra__:
            self.__pydantic_extra__ = wrap_secrets(self.__pydantic_extra__)
        return self

    def adapter_config(self) -> dict[str, Any]:
        """The section with secrets unwrapped, for the adapter's constructor only."""
        out: dict[str, Any] = unwrap_secrets(self.model_dump())
        return out


class SimulatorSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8790, ge=0, le=65535)
    scale: float = Field(1.0, gt=0)  # virtual seconds per wall second


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(BaseSettings):
    """The effective configuration of one notifier process."""

    model_config = SettingsConfigDict(
        env_prefix="NOTIFIER_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    database_url: str = "sqlite:///var/notifier.db"
    var_dir: Path = Path("var")
    server: ServerSettings = ServerSettings()
    poll: PollSettings = PollSettings()
    dispatch: DispatchSettings = DispatchSettings()
    workers: WorkersSettings = WorkersSettings()
    retention: RetentionSettings = RetentionSettings()
    notify: NotifyDefaults = NotifyDefaults()
    senders: SendersSettings = SendersSettings()
    carriers: dict[str, CarrierSettings] = {}
    simulator: SimulatorSettings = SimulatorSettings()
    log: LogSettings = LogSettings()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, v: str) -> str:
        if not v.startswith(("sqlite:", "postgresql")):
            raise ValueError("must be sqlite:///path or postgresql+psycopg://...")
        return v

    @field_serializer("database_url", when_used="json")
    def _hide_password(self, v: str) -> str:
        return mask_url(v)  # `config show` prints the JSON dump

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "database_url" else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [data_dir("config") / "default.toml"]
        named = os.environ.get("NOTIFIER_CONFIG")
        if named:
            files.append(Path(named))
        tomls = [TomlConfigSettingsSource(settings_cls, toml_file=f) for f in reversed(files)]
        return (init_settings, env_settings, *tomls)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings at an entry point. Raises ConfigError with one line naming the key."""
    named = os.environ.get("NOTIFIER_CONFIG")
    if named and not Path(named).is_file():
        raise ConfigError(f"NOTIFIER_CONFIG: file {named} does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"invalid setting {key}: {first['msg']}") from err
    except (ValueError, OSError) as err:  # a TOML file that does not parse
        raise ConfigError(f"invalid settings file: {err}") from err
