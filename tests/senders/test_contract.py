"""The contract every registered ``notifier.senders`` plugin keeps (parametrized over the entry
points, as anymail's shared backend cases): it is a Sender, it sends one message of each of its
channels to its stand-in and returns the provider's id, and a provider failure surfaces as one
of the three typed errors, never as a return value or another exception."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from notifier.errors import PermanentSendError, SenderAuthError, SendError, TransientSendError
from notifier.plugins import load_sender
from notifier.senders.base import Sender
from notifier.settings import CHANNELS
from tests.senders import smtpd
from tests.senders.helpers import message, settings

REGISTERED = sorted({ep.name for ep in entry_points(group="notifier.senders")})
BUILTIN = {
    "outbox": "notifier.senders.outbox:OutboxSender",
    "sendgrid": "notifier.senders.sendgrid:SendgridSender",
    "smtp": "notifier.senders.smtp:SmtpSender",
    "twilio_sms": "notifier.senders.twilio_sms:TwilioSmsSender",
    "twilio_whatsapp": "notifier.senders.twilio_whatsapp:TwilioWhatsAppSender",
}


@dataclass
class Harness:
    """How to point one sender at its stand-in, and how to make that stand-in fail."""

    config: dict[str, Any]
    # (what fails, prepare: injects the failure and returns config overrides, expected error)
    failures: list[tuple[str, Callable[[], Mapping[str, Any]], type[SendError]]]


def _outbox(request: pytest.FixtureRequest) -> Harness:
    tmp: Path = request.getfixturevalue("tmp_path")
    (tmp / "blocked").write_text("a file where the outbox folder should be")
    return Harness(
        {"dir": tmp / "outbox"},
        [("unwritable folder", lambda: {"dir": tmp / "blocked" / "outbox"}, TransientSendError)],
    )


def _sendgrid(request: pytest.FixtureRequest) -> Harness:
    server = request.getfixturevalue("sendgrid")
    fail = server.app.fail_next
    return Harness(
        {"api_key": server.app.api_key, "api_base": server.url, "from_email": "t@toko.id"},
        [
            ("503", lambda: fail(status=503) or {}, TransientSendError),
            ("400", lambda: fail(status=400, message="Bad from") or {}, PermanentSendError),
            ("401", lambda: fail(status=401) or {}, SenderAuthError),
        ],
    )


def _twilio(request: pytest.FixtureRequest) -> Harness:
    server = request.getfixturevalue("twilio")
    fail = server.app.fail_next
    return Harness(
        {
            "account_sid": server.app.account_sid,
            "auth_token": server.app.auth_token,
            "api_base": server.url,
            "sms_from": "+15005550006",
            "whatsapp_from": "+14155238886",
            "whatsapp_templates": {"shipped": {"id": "HX" + "ab" * 16}},
        },
        [
            ("20500", lambda: fail(code=20500) or {}, TransientSendError),
            ("21211", lambda: fail(code=21211) or {}, PermanentSendError),
            ("20003", lambda: fail(code=20003) or {}, SenderAuthError),
        ],
    )


def _smtp(request: pytest.FixtureRequest) -> Harness:
    controller, inbox = request.getfixturevalue("smtp")
    cert, _ = request.getfixturevalue("certificate")
    request.getfixturevalue("monkeypatch").setenv("SSL_CERT_FILE", str(cert))
    return Harness(
        {
            "host": "127.0.0.1",
            "port": controller.port,
            "username": smtpd.USER,
            "password": smtpd.PASSWORD,
            "from_email": "t@toko.id",
        },
        [
            ("451", lambda: inbox.data_replies.append("451 4.3.0 later") or {}, TransientSendError),
            (
                "550",
                lambda: inbox.rcpt_replies.append("550 5.1.1 nobody") or {},
                PermanentSendError,
            ),
            ("535", lambda: {"password": "wrong"}, SenderAuthError),
        ],
    )


HARNESSES: dict[str, Callable[[pytest.FixtureRequest], Harness]] = {
    "outbox": _outbox,
    "sendgrid": _sendgrid,
    "smtp": _smtp,
    "twilio_sms": _twilio,
    "twilio_whatsapp": _twilio,
}


@pytest.fixture(params=REGISTERED)
def plugin(request: pytest.FixtureRequest) -> tuple[str, Any, Harness]:
    name = request.param
    if name not in HARNESSES:
        pytest.skip(f"no stand-in for the third-party sender {name!r}")
    return name, load_sender(name), HARNESSES[name](request)


def test_the_class_keeps_the_protocol(plugin: tuple[str, Any, Harness]) -> None:
    name, cls, harness = plugin
    assert cls.id == name
    assert cls.channels and set(cls.channels) <= set(CHANNELS)
    sender = cls(harness.config, settings())
    assert isinstance(sender, Sender)
    assert inspect.iscoroutinefunction(cls.send) and inspect.iscoroutinefunction(cls.aclose)


async def test_one_message_per_channel_comes_back_with_a_provider_id(
    plugin: tuple[str, Any, Harness],
) -> None:
    _, cls, harness = plugin
    sender = cls(harness.config, settings())
    try:
        for channel in sorted(cls.channels):
            result = await sender.send(message(channel))
            assert isinstance(result.provider_message_id, str) and result.provider_message_id
    finally:
        await sender.aclose()


async def test_a_provider_failure_is_one_of_the_three_typed_errors(
    plugin: tuple[str, Any, Harness],
) -> None:
    name, cls, harness = plugin
    channel = sorted(cls.channels)[0]
    for what, prepare, kind in harness.failures:
        sender = cls(harness.config | dict(prepare()), settings())
        try:
            with pytest.raises(SendError) as caught:
                await sender.send(message(channel))
        finally:
            await sender.aclose()
        error = caught.value
        assert type(error) in (TransientSendError, PermanentSendError, SenderAuthError), what
        assert isinstance(error, kind), f"{name}, {what}: {error!r}"
        assert error.provider == name and str(error).startswith((f"{name}:", f"{name} ["))


@pytest.mark.parametrize(("name", "target"), sorted(BUILTIN.items()))
def test_every_builtin_sender_is_registered(name: str, target: str) -> None:
    found = {ep.name: ep.value for ep in entry_points(group="notifier.senders")}
    assert found.get(name) == target, (
        f'pyproject.toml [project.entry-points."notifier.senders"] needs {name} = "{target}"'
    )
