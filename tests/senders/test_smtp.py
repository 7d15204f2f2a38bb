"""The SMTP sender against a real aiosmtpd server: STARTTLS required, the headers and parts of
the message, AUTH, and SMTP replies classified."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from notifier.errors import PermanentSendError, SenderAuthError, TransientSendError
from notifier.senders.smtp import SmtpSender
from tests.senders import smtpd
from tests.senders.helpers import EMAIL, UNSUBSCRIBE, message, settings

FROM = "toko@tokobatiksekar.id"


def make(port: int, cert: Path | None, **config: Any) -> SmtpSender:
    base = {
        "host": "127.0.0.1",
        "port": port,
        "username": smtpd.USER,
        "password": smtpd.PASSWORD,
        "from_email": FROM,
        "timeout": 2.0,
    }
    tls = smtpd.client_context(cert) if cert else None
    return SmtpSender(base | config, settings(), tls=tls)


async def test_a_message_over_starttls_with_every_header(
    smtp: tuple[Controller, smtpd.Inbox], certificate: tuple[Path, Path]
) -> None:
    controller, inbox = smtp
    sender = make(controller.port, certificate[0])
    result = await sender.send(message("email"))
    await sender.aclose()

    [got] = inbox.delivered
    assert got.tls and got.authenticated
    assert (got.mail_from, got.rcpt_tos) == (FROM, [EMAIL])
    mail = got.message
    assert mail["From"] == f"Toko Batik Sekar <{FROM}>"
    assert mail["To"] == f"Rina Wulandari <{EMAIL}>"
    assert mail["Subject"] == "Pesanan INV/2026/11/0042 sudah dikirim"
    assert mail["Reply-To"] == "halo@tokobatiksekar.id"
    assert mail["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"] == result.provider_message_id
    assert result.provider_message_id.endswith("@tokobatiksekar.id>")
    assert mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in mail.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert b"List-Unsubscribe: <" + UNSUBSCRIBE.encode() + b">\r\n" in got.raw  # not folded


async def test_a_server_without_starttls_is_refused(certificate: tuple[Path, Path]) -> None:
    inbox = smtpd.Inbox()
    controller = smtpd.start(inbox, cert=None)  # plain text only
    try:
        sender = make(controller.port, certificate[0])
        with pytest.raises(SenderAuthError, match="does not offer STARTTLS") as caught:
            await sender.send(message("email"))
        plain = make(controller.port, None, starttls=False, username=None)
        await plain.send(message("email"))  # a trusted local relay, explicitly
    finally:
        controller.stop()
    assert caught.value.code == "starttls"
    assert len(inbox.delivered) == 1 and not inbox.delivered[0].tls


async def test_an_untrusted_certificate_pauses_the_sender(
    smtp: tuple[Controller, smtpd.Inbox],
) -> None:
    sender = make(smtp[0].port, None)  # the system trust store does not know our test CA
    with pytest.raises(SenderAuthError, match="certificate is not trusted"):
        await sender.send(message("email"))
    assert smtp[1].delivered == []


async def test_wrong_credentials_pause_the_sender(
    smtp: tuple[Controller, smtpd.Inbox], certificate: tuple[Path, Path]
) -> None:
    sender = make(smtp[0].port, certificate[0], password="wrong")
    with pytest.raises(SenderAuthError) as caught:
        await sender.send(message("email"))
    assert caught.value.code == "535"
    assert "wrong" not in str(caught.value) and smtp[1].delivered == []


@pytest.mark.parametrize(
    ("stage", "reply", "kind", "reason"),
    [
        ("rcpt", "550 5.1.1 <rina.wulandari@example.com>: no such user", PermanentSendError,
         "refused the recipient (mailbox unavailable) (5.1.1 <r***@example.com>: no such user)"),
        ("rcpt", "452 4.2.2 mailbox full, try later", TransientSendError, "short of storage"),
        ("data", "451 4.3.0 try later", TransientSendError, "failed to process it"),
        ("data", "554 5.7.1 message refused as spam", PermanentSendError, "refused the message"),
        ("data", "521 5.3.2 no mail here", PermanentSendError, "the mail server answered 521"),
    ],
)  # fmt: skip
async def test_smtp_replies(
    smtp: tuple[Controller, smtpd.Inbox],
    certificate: tuple[Path, Path],
    stage: str,
    reply: str,
    kind: type,
    reason: str,
) -> None:
    controller, inbox = smtp
    (inbox.rcpt_replies if stage == "rcpt" else inbox.data_replies).append(reply)
    sender = make(controller.port, certificate[0])
    with pytest.raises(kind) as caught:
        await sender.send(message("email"))
    await sender.aclose()
    assert type(caught.value) is kind
    assert caught.value.code == reply[:3]
    assert reason in str(caught.value)
    assert EMAIL not in str(caught.value)


async def test_a_server_that_never_greets_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # the kernel accepts; nobody ever says 220
        sender = make(listener.getsockname()[1], None, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(TransientSendError, match=r"no answer within 0\.3 s"):
            await sender.send(message("email"))
    assert time.monotonic() - started < 1.5


async def test_nothing_listening_is_transient() -> None:
    port = smtpd.free_port()
    sender = make(port, None)
    with pytest.raises(TransientSendError, match="cannot reach the provider"):
        await sender.send(message("email"))


async def test_port_465_uses_implicit_tls(certificate: tuple[Path, Path]) -> None:
    inbox = smtpd.Inbox()
    try:
        controller = smtpd.start(inbox, cert=certificate, port=465, implicit=True)
    except (OSError, RuntimeError) as err:
        pytest.skip(f"cannot listen on 127.0.0.1:465 here: {err}")
    try:
        sender = make(465, certificate[0])
        await sender.send(message("email"))
    finally:
        controller.stop()
    assert inbox.delivered[0].tls and inbox.delivered[0].authenticated


async def test_missing_from_email_pauses_the_sender(smtp: tuple[Controller, smtpd.Inbox]) -> None:
    sender = make(smtp[0].port, None, from_email=None)
    with pytest.raises(SenderAuthError, match=r"senders\.smtp\.from_email"):
        await sender.send(message("email"))
