"""What the Twilio SMS and WhatsApp senders share: the official ``twilio`` client pointed at
``api_base``, the Messages create call, and Twilio's error codes as data.

``POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP Basic auth
(AccountSid:AuthToken), form-encoded (operation ``CreateMessage`` of ``twilio_api_v2010.json``,
twilio/twilio-oai). Twilio answers 201 with the message resource (``sid`` is our provider id)
or an error body ``{"code", "message", "more_info", "status"}``; the codes are listed at
https://www.twilio.com/docs/api/errors. ``StatusCallback`` points every message at our
``/webhooks/twilio/status?n=<notification id>``, so the callbacks can follow it after acceptance
and find its notification even before the dispatcher recorded the message SID (Twilio signs the
full URL, query included, and ``RequestValidator`` checks it that way).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, ClassVar

import structlog
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from notifier.errors import SendError
from notifier.logs import mask
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.senders.provider import (
    AUTH,
    DEADLINE_FACTOR,
    NETWORK_ERRORS,
    OPTED_OUT,
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
from notifier.settings import Settings, TwilioSettings

log = structlog.get_logger(__name__)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"

# Twilio's codes that decide what we do; "{messages}" is "SMS" or "WhatsApp messages".
# Unknown codes fall back to the HTTP status (notifier.senders.provider.by_status).
TWILIO_ERRORS: Mapping[int, Rule] = {
    20003: Rule(AUTH, "Twilio refused senders.twilio.account_sid / auth_token"),
    20404: Rule(AUTH, "Twilio has no such account or resource: check account_sid and api_base"),
    20429: Rule(TRANSIENT, "too many requests to Twilio at once; retrying later"),
    20500: Rule(TRANSIENT, "Twilio failed (internal error); retrying later"),
    20503: Rule(TRANSIENT, "Twilio is unavailable; retrying later"),
    21211: Rule(PERMANENT, "the number is not a valid phone number"),
    21212: Rule(AUTH, "Twilio does not accept the 'From' sender: check senders.twilio"),
    21408: Rule(PERMANENT, "the Twilio account may not send to this country (Geo Permissions)"),
    21602: Rule(PERMANENT, "the message body is empty"),
    21606: Rule(AUTH, "the 'From' number cannot send {messages} for this Twilio account"),
    21608: Rule(PERMANENT, "a trial Twilio account may only send to verified numbers"),
    21610: Rule(OPTED_OUT, "the recipient replied STOP; no more {messages} to this number"),
    21611: Rule(TRANSIENT, "the sender's Twilio queue is full; retrying later"),
    21612: Rule(PERMANENT, "this number cannot be reached from the configured sender"),
    21614: Rule(PERMANENT, "the number is not a mobile number and cannot receive SMS"),
    21617: Rule(PERMANENT, "the message is longer than Twilio's 1600 characters"),
    21619: Rule(PERMANENT, "the message has no body, media or template"),
    21655: Rule(PERMANENT, "the ContentSid is not a Content template of this account"),
    21656: Rule(PERMANENT, "the template variables (ContentVariables) are invalid or empty"),
    63003: Rule(PERMANENT, "the number cannot be reached on WhatsApp"),
    63007: Rule(AUTH, "Twilio has no WhatsApp sender for 'From': check whatsapp_from"),
    63016: Rule(
        PERMANENT, "outside the 24-hour WhatsApp session only an approved template may be sent"
    ),
    63018: Rule(TRANSIENT, "the WhatsApp sender's rate limit was reached; retrying later"),
}
# The library falls back to os.environ when `environment` is falsy; a non-empty mapping keeps
# stray TWILIO_EDGE / TWILIO_REGION from rewriting api_base to a real Twilio host.
_NO_ENVIRONMENT = {"NOTIFIER_IGNORES_TWILIO_ENV": "1"}
_QUIET = logging.getLogger("notifier.senders.twilio.http")  # the library logs every request
_QUIET.setLevel(logging.WARNING)


class _HttpClient(TwilioHttpClient):
    """The library's client, keeping the last response's headers (Retry-After on 429).

    Without a proxy in the environment, its requests session stops reading the environment on
    every request (requests looks up proxy and CA variables per call); a CA bundle named there
    is read once. With a proxy, requests keeps handling HTTP(S)_PROXY and NO_PROXY as usual."""

    last_headers: Mapping[str, str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.session is not None and not _proxied():
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            self.session.trust_env = False
            if bundle:  # what requests would have read from the environment, read once
                self.session.verify = bundle

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self.last_headers = None
        response = super().request(*args, **kwargs)
        self.last_headers = dict(response.headers or {})
        return response


def _proxied() -> bool:
    """Whether the environment configures a proxy for requests."""
    names = {"http_proxy", "https_proxy", "all_proxy"}
    return any(k.lower() in names for k in os.environ)


class Refused(Exception):
    """Twilio answered with an error (raised inside the pool thread, with the headers)."""

    def __init__(self, status: int, code: int | None, text: str, headers: Any) -> None:
        super().__init__(f"{status} {code}: {text}")
        self.status, self.code, self.text, self.headers = status, code, text, headers


class TwilioSender:
    """Base of the SMS and WhatsApp senders: one pool of clients, one create call."""

    id: ClassVar[str] = "twilio"
    channels: ClassVar[frozenset[str]] = frozenset()
    messages: ClassVar[str] = "messages"  # how reasons name this channel's messages
    from_setting: ClassVar[str] = "senders.twilio.sms_from"  # named when no sender is set

    def __init__(self, config: Mapping[str, Any], settings: Settings) -> None:
        self.config = TwilioSettings.model_validate(dict(config))
        self.timeout = self.config.timeout
        self.status_callback = settings.server.public_url + STATUS_CALLBACK_PATH
        self._pool: ThreadPool[Client] = ThreadPool(
            self.id,
            settings.dispatch.concurrency,
            self._client,
            deadline=self.timeout * DEADLINE_FACTOR,
        )

    def _client(self) -> Client:
        token = self.config.auth_token.get_secret_value() if self.config.auth_token else None
        http = _HttpClient(timeout=self.timeout, logger=_QUIET)
        client = Client(
            self.config.account_sid, token, http_client=http, environment=_NO_ENVIRONMENT
        )
        client.api.base_url = self.config.api_base.rstrip("/")  # read on every request
        return client

    def sender_fields(self, own_from: str | None) -> dict[str, str]:
        """``From`` when the channel has its own sender, else the Messaging Service (Twilio
        then picks a sender from its pool). Raises SenderAuthError when neither is set."""
        if not self.config.account_sid or not self.config.auth_token:
            raise not_configured(self.id, "senders.twilio.account_sid and auth_token are needed")
        if own_from:
            return {"from_": own_from}
        if self.config.messaging_service_sid:
            return {"messaging_service_sid": self.config.messaging_service_sid}
        raise not_configured(
            self.id, f"no sender: set {self.from_setting} or messaging_service_sid"
        )

    async def create(self, message: OutgoingMessage, fields: Mapping[str, Any]) -> SendResult:
        """Create one Message with ``fields`` (the library's keyword names: ``to``, ``from_``
        or ``messaging_service_sid``, ``body`` or ``content_sid``...) and our status callback;
        returns the message SID and Twilio's initial status (queued, or accepted with a
        Messaging Service)."""
        params = {**fields, "status_callback": self.callback_url(message)}
        try:
            instance = await self._pool.run(lambda client: _create(client, params))
        except Refused as err:
            raise self.error(err) from err
        except NETWORK_ERRORS as err:
            raise network_error(self.id, err, self.timeout) from err
        log.info(
            "message.sent",
            sender=self.id,
            trigger=message.trigger,
            notification=message.notification_id,
            to=mask(message.to),
            provider_id=instance.sid,
            how="template" if "content_sid" in fields else "body",
        )
        return SendResult(instance.sid, str(instance.status or "queued"))

    def callback_url(self, message: OutgoingMessage) -> str:
        """Where Twilio reports this message's status: the message's own URL if it has one,
        else our webhook with the notification id (none for a message without a row, such as
        ``send-test``'s)."""
        if message.status_callback:
            return message.status_callback
        if message.notification_id > 0:
            return f"{self.status_callback}?n={message.notification_id}"
        return self.status_callback

    def error(self, err: Refused) -> SendError:
        """The send error for one Twilio error answer (see TWILIO_ERRORS)."""
        rule = TWILIO_ERRORS.get(err.code or 0)
        detail = None
        if rule is None:
            rule, detail = by_status(err.status), err.text
        rule = Rule(rule.outcome, rule.reason.format(messages=self.messages))
        error = send_error(
            self.id,
            rule,
            code=str(err.code or err.status),
            status_code=err.status,
            detail=detail,
            retry_after=retry_after(err.headers),
        )
        log.warning("message.refused", sender=self.id, code=err.code, error=str(error))
        return error

    async def aclose(self) -> None:
        await self._pool.aclose()


def _create(client: Client, params: Mapping[str, Any]) -> Any:
    """Runs on a pool thread: the library call, errors turned into :class:`Refused`."""
    http = client.http_client
    try:
        return client.messages.create(**params)
    except TwilioRestException as err:
        text = str(err.msg).removeprefix("Unable to create record: ")
        raise Refused(
            err.status, _int(err.code), text, getattr(http, "last_headers", None)
        ) from err
    except TwilioServiceException as err:  # RFC 9457 problem details
        text = err.detail or err.title
        raise Refused(
            err.status, _int(err.code), text, getattr(http, "last_headers", None)
        ) from err


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
