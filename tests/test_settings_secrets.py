"""Secrets in the settings: typed ones (SecretStr), plugin sections' extra keys (wrapped by name)
and the database password never show in ``repr``, ``notifier config show`` or log lines, while
the senders and carrier adapters that need them still receive the plain values."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

import httpx
import pytest
import structlog
from pydantic import SecretStr
from typer.testing import CliRunner

from notifier import logs
from notifier.cli import app
from notifier.runtime import Carriers, Senders
from notifier.settings import Settings, is_secret_key, mask_url, unwrap_secrets, wrap_secrets

SECRETS = {
    "NOTIFIER_DATABASE_URL": "postgresql+psycopg://notifier:pg-hunter2@127.0.0.1:1/none",
    "NOTIFIER_SERVER__SESSION_SECRET": "sess-sekret-1",
    "NOTIFIER_SENDERS__SENDGRID__API_KEY": "SG.sekret-2",
    "NOTIFIER_SENDERS__TWILIO__AUTH_TOKEN": "tw-sekret-3",
    "NOTIFIER_SENDERS__SMTP__PASSWORD": "smtp-sekret-4",
    "NOTIFIER_SENDERS__PIGEON__API_KEY": "pigeon-sekret-5",
    "NOTIFIER_SENDERS__PIGEON__AUTH__CLIENT_SECRET": "pigeon-sekret-6",
    "NOTIFIER_CARRIERS__AFTERSHIP__API_KEY": "as-sekret-7",
    "NOTIFIER_CARRIERS__AFTERSHIP__WEBHOOK_SECRET": "as-sekret-8",
    "NOTIFIER_CARRIERS__UPS__CLIENT_SECRET": "ups-sekret-9",
    "NOTIFIER_CARRIERS__UPS__PASSWORD": "ups-sekret-10",
}
PLAIN = {
    "NOTIFIER_SENDERS__PIGEON__REGION": "eu-1",
    "NOTIFIER_SENDERS__PIGEON__APP_ID": "app-42",
    "NOTIFIER_CARRIERS__UPS__CLIENT_ID": "ups-client",
    "NOTIFIER_CARRIERS__UPS__TOKEN_URL": "https://ups.example/token",
}


def _values() -> list[str]:
    out = [v for v in SECRETS.values() if "://" not in v]
    return [*out, "pg-hunter2"]


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key, value in {**SECRETS, **PLAIN}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NOTIFIER_VAR_DIR", str(tmp_path / "var"))


def _leaks(text: str) -> list[str]:
    return [v for v in _values() if v in text]


def test_repr_and_str_hide_every_secret(secret_env) -> None:
    s = Settings()
    for shown in (repr(s), str(s), repr(s.senders), repr(s.carriers), s.model_dump_json()):
        assert _leaks(shown) == []
    assert "notifier:***@127.0.0.1:1/none" in repr(s)
    assert s.database_url.endswith("pg-hunter2@127.0.0.1:1/none")  # the engine gets it plain


def test_config_show_hides_every_secret(secret_env) -> None:
    out = CliRunner().invoke(app, ["config", "show"])
    assert out.exit_code == 0, out.output
    assert _leaks(out.output) == []
    shown = json.loads(out.stdout)
    assert shown["database_url"] == "postgresql+psycopg://notifier:***@127.0.0.1:1/none"
    assert shown["senders"]["pigeon"] == {
        "api_key": "**********",
        "auth": {"client_secret": "**********"},
        "region": "eu-1",
        "app_id": "app-42",
    }
    ups = shown["carriers"]["ups"]
    assert ups["password"] == ups["client_secret"] == "**********"
    assert ups["client_id"] == "ups-client" and ups["token_url"] == "https://ups.example/token"
    assert shown["carriers"]["aftership"]["webhook_secret"] == "**********"


def test_log_lines_hide_every_secret(secret_env, capsys) -> None:
    s = Settings()
    logs.configure("DEBUG", "json")
    log = structlog.get_logger("test")
    log.info("settings", settings=s, ups=s.carriers["ups"], pigeon=s.senders.model_extra)
    log.info("url", database=s.model_dump(mode="json")["database_url"])
    logging.getLogger().handlers[0].flush()
    err = capsys.readouterr().err
    assert "notifier:***@127.0.0.1" in err and "SecretStr('**********')" in err
    assert _leaks(err) == []
    structlog.reset_defaults()


def test_doctor_on_an_unreachable_database_shows_no_secret(secret_env, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_LOG__LEVEL", "DEBUG")
    out = CliRunner().invoke(app, ["doctor"])
    assert out.exit_code == 1 and "database:" in out.output
    assert _leaks(out.output) == []


async def test_builtin_senders_get_the_real_values(secret_env) -> None:
    s = Settings(senders={"email": "sendgrid", "sms": "twilio_sms", "whatsapp": "outbox"})
    senders = Senders(s)
    try:
        sendgrid: Any = senders.for_channel("email")
        twilio: Any = senders.for_channel("sms")
        assert sendgrid.config.api_key.get_secret_value() == "SG.sekret-2"
        assert twilio.config.auth_token.get_secret_value() == "tw-sekret-3"
    finally:
        await senders.aclose()
    smtp = s.senders.section("smtp")
    assert smtp["password"] == "smtp-sekret-4"


class _Pigeon:
    """A third-party sender: its section has no types, it reads plain strings."""

    id: ClassVar[str] = "pigeon"
    channels: ClassVar[frozenset[str]] = frozenset({"sms"})

    def __init__(self, config: Any, settings: Any) -> None:
        self.config = config

    async def aclose(self) -> None:
        pass


async def test_a_plugin_sender_gets_plain_strings(secret_env, monkeypatch) -> None:
    monkeypatch.setattr("notifier.runtime.load_sender", lambda name: _Pigeon)
    s = Settings(senders={"sms": "pigeon"})
    sender: Any = Senders(s).for_channel("sms")
    assert sender.config == {
        "api_key": "pigeon-sekret-5",
        "auth": {"client_secret": "pigeon-sekret-6"},
        "region": "eu-1",
        "app_id": "app-42",
    }
    assert isinstance(s.senders.model_extra, dict)
    assert isinstance(s.senders.model_extra["pigeon"]["api_key"], SecretStr)  # kept wrapped


async def test_carrier_adapters_get_the_real_values(secret_env) -> None:
    s = Settings()
    async with httpx.AsyncClient() as client:
        carriers = Carriers(s, client)
        aftership: Any = carriers.get("aftership")
        ups: Any = carriers.get("ups")
        assert aftership.config["api_key"] == "as-sekret-7"
        assert aftership.config["webhook_secret"] == "as-sekret-8"
        assert ups.config["client_secret"] == "ups-sekret-9"
        assert ups.config["password"] == "ups-sekret-10"
        assert ups.config["token_url"] == "https://ups.example/token"
        assert all(not isinstance(v, SecretStr) for v in ups.config.values())


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("api_key", True),
        ("webhook_secret", True),
        ("AUTH_TOKEN", True),
        ("password", True),
        ("private_key", True),
        ("consumer_key", True),
        ("aws_access_key", True),
        ("access_key_id", False),
        ("client_id", False),
        ("token_url", False),
        ("region", False),
        ("webhook_public_key", False),
    ],
)
def test_secret_keys_by_name(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_wrap_and_unwrap_round_trip() -> None:
    value = {"a": [{"token": "t", "n": 1}], "password": "p", "b": {"api_key": 5}}
    wrapped = wrap_secrets(value)
    assert isinstance(wrapped["a"][0]["token"], SecretStr)
    assert isinstance(wrapped["password"], SecretStr)
    assert wrapped["b"]["api_key"] == 5  # only text is a secret
    assert unwrap_secrets(wrapped) == value
    assert wrap_secrets(wrapped) == wrapped


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:p%40ss@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
        ("postgresql+psycopg://u:p@ss/x@h/db", "postgresql+psycopg://u:***@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        (
            "postgresql+psycopg://h/db?user=u&password=zz",
            "postgresql+psycopg://h/db?user=u&password=***",
        ),
        ("sqlite:///var/notifier.db", "sqlite:///var/notifier.db"),
        ("sqlite:///odd:name@x.db", "sqlite:///odd:name@x.db"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
