"""``notifier send-test`` against the stand-ins, configured through environment variables as an
operator would: what it prints, what it sends, and its exit codes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from notifier import runtime
from notifier.plugins import load_sender
from notifier.senders.cli import app
from notifier.senders.sendgrid import SendgridSender
from notifier.senders.smtp import SmtpSender
from notifier.senders.twilio_sms import TwilioSmsSender
from notifier.senders.twilio_whatsapp import TwilioWhatsAppSender
from notifier.templating import Templates
from notifier.testing_providers import SendgridStandIn, Served, TwilioStandIn
from tests.senders import smtpd

runner = CliRunner()
BUILTIN = {
    cls.id: cls for cls in (SendgridSender, SmtpSender, TwilioSmsSender, TwilioWhatsAppSender)
}
TEMPLATE = "HX" + "3c" * 16
PUBLIC_URL = "https://lacak.tokobatiksekar.id"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """send-test configures logging to the stderr of the moment, which CliRunner replaces."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def senders_by_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Senders as the entry points name them; the built-in classes while pyproject does not
    register them yet (test_contract checks that it does)."""
    registered = {ep.name for ep in entry_points(group="notifier.senders")}

    def load(name: str) -> Any:
        return load_sender(name) if name in registered else BUILTIN[name]

    monkeypatch.setattr(runtime, "load_sender", load)


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch,
    twilio: Served[TwilioStandIn],
    sendgrid: Served[SendgridStandIn],
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    values = {
        "NOTIFIER_SERVER__PUBLIC_URL": PUBLIC_URL,
        "NOTIFIER_SENDERS__EMAIL": "sendgrid",
        "NOTIFIER_SENDERS__SMS": "twilio_sms",
        "NOTIFIER_SENDERS__WHATSAPP": "twilio_whatsapp",
        "NOTIFIER_SENDERS__SENDGRID__API_BASE": sendgrid.url,
        "NOTIFIER_SENDERS__SENDGRID__API_KEY": sendgrid.app.api_key,
        "NOTIFIER_SENDERS__SENDGRID__FROM_EMAIL": "toko@tokobatiksekar.id",
        "NOTIFIER_SENDERS__TWILIO__API_BASE": twilio.url,
        "NOTIFIER_SENDERS__TWILIO__ACCOUNT_SID": twilio.app.account_sid,
        "NOTIFIER_SENDERS__TWILIO__AUTH_TOKEN": twilio.app.auth_token,
        "NOTIFIER_SENDERS__TWILIO__SMS_FROM": "+15005550006",
        "NOTIFIER_SENDERS__TWILIO__WHATSAPP_FROM": "+14155238886",
        "NOTIFIER_SENDERS__TWILIO__WHATSAPP_TEMPLATES": json.dumps({"shipped": {"id": TEMPLATE}}),
        "NOTIFIER_SENDERS__OUTBOX__DIR": str(tmp_path / "outbox"),
        "NOTIFIER_LOG__FORMAT": "console",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    yield values


def send(*args: str) -> Any:
    return runner.invoke(app, ["--channel", *args])


def sample(trigger: str, channel: str, locale: str) -> Any:
    templates = Templates()
    context = templates.sample_context(trigger, locale) | {"channel": channel}
    return templates.render(trigger, channel, locale, context, timezone="Asia/Jakarta")


def test_sms_goes_to_the_normalized_number(
    env: dict[str, str], twilio: Served[TwilioStandIn]
) -> None:
    result = send("sms", "--to", "0812-3456-7890")
    assert result.exit_code == 0, result.stderr
    [request] = twilio.app.requests
    assert result.stdout == f"{request_sid(twilio)}\n"
    assert request.form["To"] == "+6281234567890"
    assert request.form["Body"] == sample("shipped", "sms", "id").text
    assert request.form["StatusCallback"] == f"{PUBLIC_URL}/webhooks/twilio/status"
    assert "twilio_sms to +62812****7890" in result.stderr


def request_sid(twilio: Served[TwilioStandIn]) -> str:
    """The SID of the last message the stand-in created."""
    return twilio.app.created[-1][0]


def test_email_through_sendgrid(env: dict[str, str], sendgrid: Served[SendgridStandIn]) -> None:
    result = send("email", "--to", " Rina@Example.com ", "--trigger", "delivered", "--locale", "en")
    assert result.exit_code == 0, result.stderr
    [(message_id, body)] = sendgrid.app.accepted
    assert result.stdout == f"{message_id}\n"
    rendered = sample("delivered", "email", "en")
    assert body["personalizations"][0]["to"] == [
        {"email": "rina@example.com", "name": "Rina Wulandari"}
    ]
    assert body["subject"] == rendered.subject
    assert body["content"][0] == {"type": "text/plain", "value": rendered.text}
    assert (
        body["headers"]["List-Unsubscribe"]
        == "<https://lacak.tokobatiksekar.id/u/Hq4ZcW8nLr2Tk9Pe>"
    )
    assert body["categories"] == ["delivered"]


def test_whatsapp_goes_as_the_approved_template(
    env: dict[str, str], twilio: Served[TwilioStandIn]
) -> None:
    result = send("whatsapp", "--to", "+62 812 3456 7890")
    assert result.exit_code == 0, result.stderr
    form = twilio.app.requests[0].form
    assert form["To"] == "whatsapp:+6281234567890" and form["ContentSid"] == TEMPLATE
    assert json.loads(form["ContentVariables"])["5"] == "JX3708794672"
    assert result.stdout == f"{request_sid(twilio)}\n"


def test_email_through_smtp_with_starttls(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    smtp: tuple[Controller, smtpd.Inbox],
    certificate: tuple[Path, Path],
) -> None:
    controller, inbox = smtp
    monkeypatch.setenv("NOTIFIER_SENDERS__EMAIL", "smtp")
    monkeypatch.setenv("NOTIFIER_SENDERS__SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("NOTIFIER_SENDERS__SMTP__PORT", str(controller.port))
    monkeypatch.setenv("NOTIFIER_SENDERS__SMTP__FROM_EMAIL", "toko@tokobatiksekar.id")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust the test's certificate
    result = send("email", "--to", "rina@example.com")
    assert result.exit_code == 0, result.stderr
    [got] = inbox.delivered
    assert got.tls and result.stdout == f"{got.message['Message-ID']}\n"


def test_the_default_outbox(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_SENDERS__SMS", "outbox")
    result = send("sms", "--to", "081234567890")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("outbox-")
    assert len(list(Path(env["NOTIFIER_SENDERS__OUTBOX__DIR"]).glob("*.txt"))) == 1


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["sms", "--to", "+6281234567890"],
         "error: twilio_sms [21610]: the recipient replied STOP; no more SMS to this number"),
        (["whatsapp", "--to", "+6281234567890", "--trigger", "delayed"],
         "error: twilio_whatsapp [no_template]: outside the 24-hour session and no approved "
         "template for delayed/id (map one in senders.twilio.whatsapp_templates)"),
    ],
)  # fmt: skip
def test_a_provider_refusal_is_one_line_and_exit_1(
    env: dict[str, str], twilio: Served[TwilioStandIn], args: list[str], line: str
) -> None:
    twilio.app.opted_out.add("+6281234567890")
    result = send(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == line + "\n"


def test_refused_credentials_name_the_code(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_SENDERS__SENDGRID__API_KEY", "SG.revoked")
    result = send("email", "--to", "rina@example.com")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: sendgrid [401]: SendGrid refused the API key")
    assert "SG.revoked" not in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["sms", "--to", "0812"], "error: invalid sms address: '0812': too short"),
        (["whatsapp", "--to", "021 5550123"],
         "error: invalid whatsapp address: +62215550123 is a landline; it cannot take whatsapp"),
        (["email", "--to", "rina@"], "error: invalid email address: 'rina@': "),
        (["sms", "--to", "081234567890", "--trigger", "teleported"],
         "error: unknown trigger 'teleported'"),
        (["sms", "--to", "081234567890", "--locale", "fr"],
         "error: no sms template for shipped in locale 'fr'"),
    ],
)  # fmt: skip
def test_bad_input_is_exit_2_with_one_line(
    env: dict[str, str], twilio: Served[TwilioStandIn], args: list[str], line: str
) -> None:
    result = send(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1
    assert twilio.app.requests == []


def test_invalid_settings_are_exit_2(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_SENDERS__TWILIO__SMS_SEGMENT_BUDGET", "0")
    result = send("sms", "--to", "081234567890")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid setting senders.twilio.sms_segment_budget")
