"""``notifier send-test``: one sample message through the configured sender of a channel.

Renders the sample shop's message for a trigger and locale (``Templates.sample_context``),
addresses it as intake would (phones read in ``notify.country``: ``081234567890`` becomes
``+6281234567890``) and sends it with the sender that ``senders.<channel>`` names. Prints the
provider's message id on stdout. Exit codes: 0 sent; 1 the provider refused or failed (one line
with the provider's code and what it means); 2 a bad address, trigger, locale or setting.
"""

from __future__ import annotations

import asyncio
import uuid
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from notifier import logs
from notifier.errors import ConfigError, InputError, SendError, TemplateError
from notifier.orders.contact import normalize_email, normalize_phone
from notifier.runtime import Senders
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.senders.twilio_whatsapp import template_variables
from notifier.settings import TRIGGERS, Settings, load_settings
from notifier.templating import RenderedMessage, Templates


class ChannelName(StrEnum):
    """The ``--channel`` choices (the channels of notifier.settings.CHANNELS)."""

    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


@app.command("send-test")
def send_test(
    channel: Annotated[ChannelName, typer.Option(help="Which channel's sender.")],
    to: Annotated[str, typer.Option(help="Email address or phone number (08..., +62...).")],
    trigger: Annotated[str, typer.Option(help="Which sample message.")] = "shipped",
    locale: Annotated[str, typer.Option(help="Template language.")] = "id",
    session_open: Annotated[
        bool, typer.Option(help="WhatsApp: the shopper wrote in the last 24 h (free-form text).")
    ] = False,
) -> None:
    """Send one sample message through the configured sender; print the provider's id."""
    name = ChannelName(channel).value
    try:
        settings = load_settings()
    except ConfigError as e:
        fail(str(e), 2)
    # The outcome is printed below, one line; log lines only for errors (or when debugging).
    logs.configure("DEBUG" if settings.log.level == "DEBUG" else "ERROR", settings.log.format)
    address = _address(name, to, settings)
    message = _message(settings, name, address, trigger, locale, session_open)
    result, sender_id = asyncio.run(_send(settings, message))
    out.print(result.provider_message_id or "", markup=False)
    shown = logs.mask(address)
    err.print(f"sent {trigger}/{locale} by {sender_id} to {shown} ({result.status})", markup=False)


def _address(channel: str, raw: str, settings: Settings) -> str:
    """The address as intake stores it; exit 2 with the reason when it is not one."""
    try:
        if channel == "email":
            return normalize_email(raw)
        phone = normalize_phone(raw, settings.notify.country)
    except InputError as e:
        fail(f"invalid {channel} address: {e}", 2)
    if not phone.reachable_by_phone:
        fail(f"invalid {channel} address: {phone.e164} is a landline; it cannot take {channel}", 2)
    return phone.e164


def _message(
    settings: Settings, channel: str, to: str, trigger: str, locale: str, session_open: bool
) -> OutgoingMessage:
    if trigger not in TRIGGERS:
        fail(f"unknown trigger {trigger!r} (one of: {', '.join(TRIGGERS)})", 2)
    templates = Templates()
    if (trigger, channel, locale) not in templates.available():
        fail(f"no {channel} template for {trigger} in locale {locale!r}", 2)
    try:
        context = templates.sample_context(trigger, locale) | {"channel": channel}
        rendered = templates.render(
            trigger, channel, locale, context, timezone=settings.notify.timezone
        )
    except TemplateError as e:
        fail(f"template: {e}", 1)
    return _outgoing(channel, to, trigger, locale, context, rendered, session_open)


def _outgoing(
    channel: str,
    to: str,
    trigger: str,
    locale: str,
    context: dict[str, Any],
    rendered: RenderedMessage,
    session_open: bool,
) -> OutgoingMessage:
    shop, customer = context["shop"], context["customer"]
    return OutgoingMessage(
        notification_id=0,  # no notification row: custom_args and callbacks carry 0
        dedupe_key=f"send-test:{uuid.uuid4().hex}",
        merchant_id=0,
        trigger=trigger,
        channel=channel,
        to=to,
        to_name=customer["name"],
        text=rendered.text,
        subject=rendered.subject,
        html=rendered.html,
        locale=locale,
        shop_name=shop["name"],
        reply_to=shop.get("cs_email"),
        unsubscribe_url=context["unsubscribe_url"] if channel == "email" else None,
        session_open=session_open,
        metadata={"notification_id": "0", "trigger": trigger} | template_variables(context, locale),
    )


async def _send(settings: Settings, message: OutgoingMessage) -> tuple[SendResult, str]:
    senders = Senders(settings)
    try:
        sender = senders.for_channel(message.channel)
    except (KeyError, ImportError) as e:
        fail(f"no sender for {message.channel}: {e}", 2)
    except Exception as e:  # a sender that cannot start with these settings
        fail(f"cannot start the {message.channel} sender: {type(e).__name__}: {e}", 2)
    try:
        return await sender.send(message), sender.id
    except SendError as e:
        fail(str(e), 1)
    except Exception as e:  # a sender bug: one line, never a traceback
        fail(f"{sender.id} crashed: {type(e).__name__}: {logs.mask(str(e))}", 1)
    finally:
        await senders.aclose()
