"""Email through the merchant's own mail server (SMTP submission, stdlib ``smtplib``).

One connection per message, on a bounded pool of threads: EHLO, then STARTTLS (RFC 3207), which
is required unless ``starttls = false`` (a trusted local relay): a server that does not offer it
is refused before anything is sent, so a downgrade cannot expose the message or the password.
Port 465 uses implicit TLS (RFC 8314) instead. Then AUTH when ``username`` is set, then the
message: ``multipart/alternative`` with the plain text before the HTML, our own ``Message-ID``
(kept as the provider id), ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058) as the
SendGrid sender sets them, and ``Auto-Submitted: auto-generated`` (RFC 3834) so that
vacation responders stay quiet. Reply codes are classified by :data:`SMTP_REPLIES`, then by
class: 4xx transient, 5xx permanent (RFC 5321 4.2.1).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any, ClassVar

import structlog

from notifier.errors import SendError
from notifier.logs import mask
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.senders.provider import (
    AUTH,
    DEADLINE_FACTOR,
    NETWORK_ERRORS,
    PERMANENT,
    TRANSIENT,
    Rule,
    ThreadPool,
    network_error,
    not_configured,
    send_error,
)
from notifier.settings import Settings, SmtpSettings

log = structlog.get_logger(__name__)

IMPLICIT_TLS_PORT = 465
# Headers are not folded before 998 characters (RFC 5322 2.1.1): some relays broke DKIM
# signatures on a folded List-Unsubscribe (nodemailer issue 1654).
POLICY = policy.SMTP.clone(max_line_length=998)
SMTP_REPLIES: Mapping[int, Rule] = {
    421: Rule(TRANSIENT, "the mail server is closing the connection; retrying later"),
    450: Rule(TRANSIENT, "the mailbox is unavailable for now; retrying later"),
    451: Rule(TRANSIENT, "the mail server failed to process it; retrying later"),
    452: Rule(TRANSIENT, "the mail server is short of storage; retrying later"),
    530: Rule(AUTH, "the mail server requires authentication: set senders.smtp.username"),
    534: Rule(AUTH, "the mail server wants a stronger authentication mechanism"),
    535: Rule(AUTH, "the mail server refused senders.smtp.username / password"),
    550: Rule(PERMANENT, "the mail server refused the recipient (mailbox unavailable)"),
    551: Rule(PERMANENT, "the recipient is not local to the mail server"),
    552: Rule(PERMANENT, "the recipient's mailbox is full or the message too large"),
    553: Rule(PERMANENT, "the mail server refused the address"),
    554: Rule(PERMANENT, "the mail server refused the message"),
}
NO_STARTTLS = Rule(
    AUTH,
    "the mail server does not offer STARTTLS; refusing to send in clear text "
    "(set senders.smtp.starttls = false only for a trusted local relay)",
)
NO_AUTH = Rule(AUTH, "the mail server does not offer AUTH: check senders.smtp.port and username")
UNTRUSTED = Rule(AUTH, "the mail server's TLS certificate is not trusted")


class _NoStartTls(smtplib.SMTPNotSupportedError):
    """The server did not advertise STARTTLS, and it is required."""


class SmtpSender:
    """Sends email through an SMTP server; see the module docstring.

    ``tls``: the TLS context to verify the server with (default: the system's trust store,
    which ``SSL_CERT_FILE`` can point elsewhere).
    """

    id: ClassVar[str] = "smtp"
    channels: ClassVar[frozenset[str]] = frozenset({"email"})

    def __init__(
        self, config: Mapping[str, Any], settings: Settings, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.config = SmtpSettings.model_validate(dict(config))
        self.timeout = self.config.timeout
        self.tls = tls or ssl.create_default_context()
        self._pool: ThreadPool[None] = ThreadPool(
            "smtp", settings.dispatch.concurrency, lambda: None, self.timeout * DEADLINE_FACTOR
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver one email to the server; returns our Message-ID. Raises as the table says."""
        if not self.config.from_email:
            raise not_configured(self.id, "senders.smtp.from_email is not set")
        mail = self.compose(message)
        try:
            await self._pool.run(lambda _: self._deliver(mail))
        except _NoStartTls as err:
            raise send_error(self.id, NO_STARTTLS, code="starttls") from err
        except smtplib.SMTPNotSupportedError as err:  # AUTH, or SMTPUTF8 for the address
            raise send_error(self.id, NO_AUTH, code="auth", detail=str(err)) from err
        except smtplib.SMTPRecipientsRefused as err:
            code, text = next(iter(err.recipients.values()))
            raise self._error(code, text) from err
        except smtplib.SMTPResponseException as err:  # sender refused, data refused, auth...
            raise self._error(err.smtp_code, err.smtp_error) from err
        except ssl.SSLCertVerificationError as err:
            raise send_error(self.id, UNTRUSTED, code="tls", detail=err.verify_message) from err
        except NETWORK_ERRORS as err:  # smtplib.SMTPException is an OSError too
            raise network_error(self.id, err, self.timeout) from err
        log.info(
            "message.sent",
            sender=self.id,
            trigger=message.trigger,
            notification=message.notification_id,
            to=mask(message.to),
            provider_id=mail["Message-ID"],
        )
        return SendResult(mail["Message-ID"], "sent")

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        """The RFC 5322 message (pure apart from the Date header and Message-ID)."""
        assert self.config.from_email is not None
        domain = self.config.from_email.rpartition("@")[2]
        mail = EmailMessage(policy=POLICY)
        mail["From"] = formataddr(
            (message.shop_name or self.config.from_name or "", self.config.from_email)
        )
        mail["To"] = formataddr((message.to_name, message.to))
        mail["Subject"] = message.subject or message.shop_name or ""
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = make_msgid(idstring=f"n{message.notification_id}", domain=domain)
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Notifier-Notification"] = str(message.notification_id)
        if message.reply_to:
            mail["Reply-To"] = message.reply_to
        if message.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def _deliver(self, mail: EmailMessage) -> None:
        """Runs on a pool thread: one SMTP session for one message."""
        cfg, helo = self.config, (self.config.from_email or "").rpartition("@")[2] or None
        if cfg.port == IMPLICIT_TLS_PORT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg.host, cfg.port, local_hostname=helo, timeout=self.timeout, context=self.tls
            )
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, local_hostname=helo, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if cfg.starttls and cfg.port != IMPLICIT_TLS_PORT:
                if not smtp.has_extn("starttls"):
                    raise _NoStartTls("STARTTLS is required and the server does not offer it")
                smtp.starttls(context=self.tls)
                smtp.ehlo()
            if cfg.username:
                password = cfg.password.get_secret_value() if cfg.password else ""
                smtp.login(cfg.username, password)
            smtp.send_message(mail)

    def _error(self, code: int, text: bytes | str) -> SendError:
        rule = SMTP_REPLIES.get(code)
        if rule is None:
            outcome = TRANSIENT if 400 <= code < 500 else PERMANENT
            rule = Rule(outcome, f"the mail server answered {code}")
        detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        error = send_error(self.id, rule, code=str(code), detail=detail)
        log.warning("message.refused", sender=self.id, code=code, error=str(error))
        return error

    async def aclose(self) -> None:
        await self._pool.aclose()
