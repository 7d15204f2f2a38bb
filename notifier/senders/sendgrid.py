"""Email through Twilio SendGrid v3 Mail Send, with the official ``sendgrid`` library.

``POST {api_base}/v3/mail/send`` with ``Authorization: Bearer <api_key>``; SendGrid answers
202 with an empty body and the ``X-Message-Id`` header, which we keep as the provider id (the
Event Webhook's ``sg_message_id`` starts with it). Our notification id travels in
``personalizations[0].custom_args`` and comes back on every event: the vendor's OpenAPI file
types the top-level ``custom_args`` as a string, so the library's ``Mail.custom_arg`` (a
top-level object) is not used. ``List-Unsubscribe`` with ``List-Unsubscribe-Post`` is RFC 8058
one-click unsubscribe pointing at our own link. Sources: the SendMail operation of
``tsg_mail_v3.json`` (twilio/sendgrid-oai) and
https://www.twilio.com/docs/sendgrid/api-reference/mail-send.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import structlog
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Asm,
    Category,
    Content,
    CustomArg,
    From,
    GroupId,
    GroupsToDisplay,
    Header,
    Mail,
    Personalization,
    ReplyTo,
    Subject,
    To,
)

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
    by_status,
    network_error,
    not_configured,
    retry_after,
    send_error,
)
from notifier.settings import SendgridSettings, Settings

log = structlog.get_logger(__name__)
# python-http-client logs each request's headers (our API key) and body (the shopper's address)
# at DEBUG; a service running at DEBUG must not write them out.
logging.getLogger("python_http_client").setLevel(logging.WARNING)

# SendGrid has no error codes of its own: the HTTP status is the code, the body's
# errors[].message the detail (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors).
SENDGRID_ERRORS: Mapping[int, Rule] = {
    400: Rule(PERMANENT, "SendGrid rejected the message"),
    401: Rule(AUTH, "SendGrid refused the API key (senders.sendgrid.api_key)"),
    403: Rule(
        AUTH,
        "SendGrid refused this API key for Mail Send, or from_email is not a verified sender",
    ),
    404: Rule(AUTH, "SendGrid has no /v3/mail/send there: check senders.sendgrid.api_base"),
    405: Rule(AUTH, "SendGrid does not accept the request there: check senders.sendgrid.api_base"),
    413: Rule(PERMANENT, "the message is larger than SendGrid accepts"),
    429: Rule(TRANSIENT, "SendGrid's rate limit was reached; retrying after its reset time"),
    500: Rule(TRANSIENT, "SendGrid failed (HTTP 500); retrying later"),
    502: Rule(TRANSIENT, "SendGrid's gateway failed (HTTP 502); retrying later"),
    503: Rule(TRANSIENT, "SendGrid is unavailable (HTTP 503); retrying later"),
    504: Rule(TRANSIENT, "SendGrid's gateway timed out (HTTP 504); retrying later"),
}
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058 section 3.1


def payload(message: OutgoingMessage, config: SendgridSettings) -> dict[str, Any]:
    """The Mail Send request body for ``message`` (pure; built with the library's helpers)."""
    mail = Mail()
    mail.from_email = From(config.from_email, message.shop_name or config.from_name or None)
    mail.subject = Subject(message.subject or message.shop_name or "-")
    person = Personalization()
    person.add_to(To(message.to, message.to_name or None))
    person.add_custom_arg(CustomArg("notification_id", str(message.notification_id)))
    person.add_custom_arg(CustomArg("merchant_id", str(message.merchant_id)))
    mail.add_personalization(person)
    mail.add_content(Content("text/plain", message.text))  # plain text first (RFC 2046 5.1.4)
    if message.html:
        mail.add_content(Content("text/html", message.html))
    mail.add_category(Category(message.trigger))
    if config.unsubscribe_group is not None:
        group = config.unsubscribe_group
        mail.asm = Asm(GroupId(group), GroupsToDisplay([group]))
    if message.unsubscribe_url:
        mail.add_header(Header("List-Unsubscribe", f"<{message.unsubscribe_url}>"))
        mail.add_header(Header("List-Unsubscribe-Post", ONE_CLICK))
    if message.reply_to:
        mail.reply_to = ReplyTo(message.reply_to)
    body: dict[str, Any] = mail.get()
    return body


class SendgridSender:
    """Sends email through SendGrid; see the module docstring for what goes on the wire."""

    id: ClassVar[str] = "sendgrid"
    channels: ClassVar[frozenset[str]] = frozenset({"email"})

    def __init__(self, config: Mapping[str, Any], settings: Settings) -> None:
        self.config = SendgridSettings.model_validate(dict(config))
        self.timeout = self.config.timeout
        self._pool: ThreadPool[SendGridAPIClient] = ThreadPool(
            "sendgrid",
            settings.dispatch.concurrency,
            self._client,
            deadline=self.timeout * DEADLINE_FACTOR,
        )

    def _client(self) -> SendGridAPIClient:
        key = self.config.api_key.get_secret_value() if self.config.api_key else ""
        client = SendGridAPIClient(api_key=key, host=self.config.api_base.rstrip("/"))
        client.client.timeout = self.timeout  # python-http-client passes none by default
        return client

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand one email to SendGrid; returns ``X-Message-Id``. Raises as the table says."""
        if not self.config.api_key or not self.config.from_email:
            missing = "api_key" if not self.config.api_key else "from_email"
            raise not_configured(self.id, f"senders.sendgrid.{missing} is not set")
        body = payload(message, self.config)
        try:
            response = await self._pool.run(lambda sg: sg.client.mail.send.post(request_body=body))
        except HTTPError as err:
            raise self._error(err) from err
        except NETWORK_ERRORS as err:
            raise network_error(self.id, err, self.timeout) from err
        provider_id = response.headers.get("X-Message-Id")
        log.info(
            "message.sent",
            sender=self.id,
            trigger=message.trigger,
            notification=message.notification_id,
            to=mask(message.to),
            provider_id=provider_id,
        )
        return SendResult(provider_id, "accepted")

    def _error(self, err: HTTPError) -> SendError:
        status = int(err.status_code)
        rule = SENDGRID_ERRORS.get(status) or by_status(status)
        headers = dict(err.headers.items()) if err.headers is not None else {}
        error = send_error(
            self.id,
            rule,
            code=str(status),
            status_code=status,
            detail=_detail(err.body),
            retry_after=retry_after(headers),
        )
        log.warning("message.refused", sender=self.id, code=status, error=str(error))
        return error

    async def aclose(self) -> None:
        await self._pool.aclose()


def _detail(body: bytes | str | None) -> str | None:
    """``errors[].message`` (with the field) from a SendGrid error body, joined."""
    if not body:
        return None
    try:
        data = json.loads(body)
        parts = [
            f"{e['field']}: {e['message']}" if e.get("field") else str(e["message"])
            for e in data.get("errors", [])
            if isinstance(e, dict) and e.get("message")
        ]
    except (ValueError, AttributeError, TypeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return text.strip() or None
    return "; ".join(parts) or None
