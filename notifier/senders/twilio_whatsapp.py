"""WhatsApp through Twilio Programmable Messaging, with the official ``twilio`` library.

Addresses are ``whatsapp:+E164`` on both sides; ``From`` = ``whatsapp_from``, else the
Messaging Service. What goes depends on Meta's 24-hour customer-service window
(https://www.twilio.com/docs/api/errors/63016):

* the shopper wrote to us in the last 24 h (``message.session_open``): the rendered text as
  free-form ``Body``;
* otherwise (business-initiated): the merchant's approved Content template,
  ``ContentSid`` = ``senders.twilio.whatsapp_templates[trigger][locale]`` (the exact locale,
  then its language: "id-ID" finds "id") and ``ContentVariables`` = the JSON string of the
  numbered variables in :data:`TEMPLATE_VARIABLES`, and no ``Body``.

When free-form is not allowed and no template can go, ``whatsapp_fallback`` decides:

=========== ================================================================================
template    no template mapped: PermanentSendError ``no_template``, "no approved template for
            <trigger>/<locale>". Twilio answers 63016 to a free-form Body (the session closed
            meanwhile): the same message is sent again at once as the template.
sms         :class:`ChannelFallback` (a PermanentSendError, code ``fallback:sms``): the
            pipeline sends this notification by SMS instead (see ``ChannelFallback``).
none        no template mapped: PermanentSendError ``no_template``; 63016: failed with it.
=========== ================================================================================

63016 usually arrives later, in the status callback, which the callbacks apply the same way.

A merchant's own choices reach the sender in ``message.metadata`` and win over the service's
settings: ``content_sid`` (the merchant's approved template for this trigger and locale, already
resolved) and ``whatsapp_fallback``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import structlog

from notifier.errors import PermanentSendError
from notifier.formatting import format_date
from notifier.senders._twilio import TwilioSender
from notifier.senders.base import OutgoingMessage, SendResult

log = structlog.get_logger(__name__)

PREFIX = "whatsapp:"
OUTSIDE_SESSION = "63016"
FALLBACK_SMS = "fallback:sms"  # PermanentSendError.code asking the pipeline to use SMS
NO_TEMPLATE = "no_template"
FALLBACKS = ("template", "sms", "none")
# ContentVariables of every template, {{1}} to {{7}}: merchants write their approved templates
# against these numbers. Values come from OutgoingMessage.metadata under these names (see
# template_variables); Twilio refuses empty values (21656), so a missing one is sent as "-".
TEMPLATE_VARIABLES = (
    "customer_name",  # {{1}} the shopper's first name
    "shop_name",  # {{2}}
    "order_number",  # {{3}}
    "carrier_name",  # {{4}}
    "tracking_number",  # {{5}}
    "tracking_url",  # {{6}}
    "eta",  # {{7}} the estimated delivery date, long form in the shopper's language
)
MISSING = "-"


class ChannelFallback(PermanentSendError):
    """This message cannot go on WhatsApp; the merchant asked for ``channel`` instead.

    For the pipeline: fail this WhatsApp notification with the reason, and send the same
    trigger to the shopper on ``channel`` (a notification of its own, with its own dedupe key,
    opt-out check and quiet hours), unless one already went. ``code`` is ``fallback:<channel>``.
    """

    def __init__(self, message: str, *, channel: str, **kw: Any) -> None:
        super().__init__(message, code=f"fallback:{channel}", **kw)
        self.channel = channel


def template_variables(context: Mapping[str, Any], locale: str) -> dict[str, str]:
    """The :data:`TEMPLATE_VARIABLES` of one render context (the documented variable set of
    :mod:`notifier.templating`), for ``OutgoingMessage.metadata``; unknown values left out."""
    shop, order = context.get("shop") or {}, context.get("order") or {}
    customer, shipment = context.get("customer") or {}, context.get("shipment") or {}
    eta = shipment.get("eta")
    values = {
        "customer_name": customer.get("first_name") or customer.get("name"),
        "shop_name": shop.get("name"),
        "order_number": order.get("number"),
        "carrier_name": shipment.get("carrier_name"),
        "tracking_number": shipment.get("tracking_number"),
        "tracking_url": shipment.get("tracking_url"),
        "eta": format_date(eta, locale) if eta else None,
    }
    return {k: str(v) for k, v in values.items() if v}


def content_variables(message: OutgoingMessage) -> str:
    """``ContentVariables``: a JSON object string, {"1": first name, ..., "7": ETA}."""
    fallback = {
        "customer_name": message.to_name.split(" ")[0],
        "shop_name": message.shop_name,
    }
    out = {}
    for number, name in enumerate(TEMPLATE_VARIABLES, start=1):
        value = message.metadata.get(name) or fallback.get(name) or MISSING
        out[str(number)] = " ".join(value.split()) or MISSING  # Meta: no newlines or tabs
    return json.dumps(out, ensure_ascii=False)


def whatsapp_address(number: str) -> str:
    return number if number.startswith(PREFIX) else PREFIX + number


class TwilioWhatsAppSender(TwilioSender):
    """Sends WhatsApp messages through Twilio; see the module docstring."""

    id: ClassVar[str] = "twilio_whatsapp"
    channels: ClassVar[frozenset[str]] = frozenset({"whatsapp"})
    messages: ClassVar[str] = "WhatsApp messages"
    from_setting: ClassVar[str] = "senders.twilio.whatsapp_from"

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send one WhatsApp message: free-form inside the session, else the template.
        Raises PermanentSendError (``no_template``) or :class:`ChannelFallback` when neither
        can go, and the Twilio errors of the table."""
        own = self.config.whatsapp_from
        to = {"to": whatsapp_address(message.to)}
        base = to | self.sender_fields(own and whatsapp_address(own))
        template = message.metadata.get("content_sid") or self.template_sid(
            message.trigger, message.locale
        )
        if not message.session_open:
            if template is None:
                raise self.cannot_send(message, "outside the 24-hour session")
            return await self.create(message, base | self.template_fields(template, message))
        try:
            return await self.create(message, base | {"body": message.text})
        except PermanentSendError as err:
            if err.code != OUTSIDE_SESSION:
                raise
            return await self.after_63016(message, base, template, err)

    async def after_63016(
        self, message: OutgoingMessage, base: dict[str, str], template: str | None, err: Exception
    ) -> SendResult:
        """Twilio refused free-form text (the session closed meanwhile): resend as the
        template, or fall back, as ``whatsapp_fallback`` says."""
        fallback = self.fallback(message)
        if fallback == "none":
            raise err
        if fallback == "template" and template is not None:
            log.info("whatsapp.resent_as_template", notification=message.notification_id)
            return await self.create(message, base | self.template_fields(template, message))
        closed = "Twilio says the 24-hour session is closed (63016)"
        raise self.cannot_send(message, closed, mapped=template is not None) from err

    def fallback(self, message: OutgoingMessage) -> str:
        """The merchant's ``whatsapp_fallback`` from the metadata, else the service's."""
        own = message.metadata.get("whatsapp_fallback")
        return own if own in FALLBACKS else self.config.whatsapp_fallback

    def template_sid(self, trigger: str, locale: str) -> str | None:
        """The approved template for ``trigger`` in ``locale`` (exact, then its language)."""
        by_locale = self.config.whatsapp_templates.get(trigger) or {}
        tag = locale.replace("_", "-")
        for key in (tag, tag.split("-")[0].lower()):
            if by_locale.get(key):
                return by_locale[key]
        return None

    @staticmethod
    def template_fields(template: str, message: OutgoingMessage) -> dict[str, str]:
        return {"content_sid": template, "content_variables": content_variables(message)}

    def cannot_send(
        self, message: OutgoingMessage, why: str, *, mapped: bool = False
    ) -> PermanentSendError:
        """What ``whatsapp_fallback`` says when neither free-form nor a template can go."""
        if not mapped:
            why += f" and no approved template for {message.trigger}/{message.locale}"
        if self.fallback(message) == "sms":
            return ChannelFallback(f"{why}: send it by SMS", channel="sms", provider=self.id)
        return PermanentSendError(
            f"{why} (map one in senders.twilio.whatsapp_templates)",
            provider=self.id,
            code=NO_TEMPLATE,
        )
