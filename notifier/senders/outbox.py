"""The default sender: one file per message under ``var/outbox/`` and one log line.

Email becomes an ``.eml`` (RFC 5322, text and HTML alternatives, the same List-Unsubscribe headers
the real email senders set); SMS and WhatsApp become ``.txt`` with a small header. Every file
carries the notification's dedupe key, so a message written twice is visible (the demo counts it).
Files are written to a temporary name and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any, ClassVar

import structlog

from notifier.errors import TransientSendError
from notifier.logs import mask
from notifier.senders.base import OutgoingMessage, SendResult

log = structlog.get_logger(__name__)

FROM_ADDRESS = "no-reply@shipment-notifier.invalid"


class OutboxSender:
    """Writes messages to files instead of sending them (development, demo, dry runs)."""

    id: ClassVar[str] = "outbox"
    channels: ClassVar[frozenset[str]] = frozenset({"email", "sms", "whatsapp"})

    def __init__(self, config: Mapping[str, Any], settings: Any = None) -> None:
        self.dir = Path(config.get("dir") or "var/outbox")
        self.clock = getattr(settings, "clock", None)

    async def send(self, message: OutgoingMessage) -> SendResult:
        message_id = f"outbox-{uuid.uuid4().hex}"
        try:
            path = await asyncio.to_thread(self._write, message, message_id)
        except OSError as err:  # disk full, permissions: worth another try later
            raise TransientSendError(f"cannot write outbox file: {err}", provider=self.id) from err
        log.info(
            "message.written",
            sender=self.id,
            channel=message.channel,
            trigger=message.trigger,
            to=mask(message.to),
            file=str(path),
        )
        return SendResult(message_id)

    def _write(self, message: OutgoingMessage, message_id: str) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        suffix = "eml" if message.channel == "email" else "txt"
        name = (
            f"n{message.notification_id:08d}-{message.channel}-{message.trigger}-{message_id[7:15]}"
        )
        path = self.dir / f"{name}.{suffix}"
        data = _email(message, message_id) if suffix == "eml" else _chat(message, message_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    async def aclose(self) -> None:
        return None


def _email(message: OutgoingMessage, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = formataddr((message.shop_name or "Shop", FROM_ADDRESS))
    msg["To"] = formataddr((message.to_name, message.to))
    msg["Subject"] = message.subject or ""
    msg["Date"] = format_datetime(datetime.now(UTC))  # when the file was written
    msg["Message-ID"] = make_msgid(idstring=message_id, domain="shipment-notifier.invalid")
    if message.reply_to:
        msg["Reply-To"] = message.reply_to
    if message.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    _headers(msg, message, message_id)
    msg.set_content(message.text)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    return bytes(msg)


def _chat(message: OutgoingMessage, message_id: str) -> bytes:
    msg = EmailMessage()  # the same header block, so one parser reads every outbox file
    msg["To"] = message.to
    msg["Channel"] = message.channel
    _headers(msg, message, message_id)
    msg.set_content(message.text)
    return bytes(msg)


def _headers(msg: EmailMessage, message: OutgoingMessage, message_id: str) -> None:
    msg["X-Notifier-Notification"] = str(message.notification_id)
    msg["X-Notifier-Dedupe-Key"] = message.dedupe_key
    msg["X-Notifier-Trigger"] = message.trigger
    msg["X-Notifier-Provider-Id"] = message_id
