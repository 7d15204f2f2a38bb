"""The Sender protocol and the message it sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One rendered message, addressed. ``to`` is E.164 for SMS/WhatsApp, an address for email."""

    notification_id: int
    dedupe_key: str
    merchant_id: int
    trigger: str
    channel: str
    to: str
    to_name: str
    text: str
    subject: str | None = None
    html: str | None = None
    locale: str = "en"
    shop_name: str = ""
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    status_callback: str | None = None
    session_open: bool = False  # WhatsApp: the shopper wrote to us in the last 24 h
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said: its message id and the state it accepted the message in."""

    provider_message_id: str | None
    status: str = "sent"


@runtime_checkable
class Sender(Protocol):
    """A provider connection for one or more channels."""

    id: ClassVar[str]
    channels: ClassVar[frozenset[str]]

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand ``message`` to the provider.

        Returns the provider's id on acceptance. Raises
        :class:`~notifier.errors.TransientSendError` (retry later),
        :class:`~notifier.errors.PermanentSendError` (do not retry; ``opted_out`` set when the
        provider says the shopper unsubscribed) or :class:`~notifier.errors.SenderAuthError`
        (our credentials were refused). Never returns a failure as a value.
        """
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...


def describe_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A sender's settings section for logs and ``config show``: secrets stay masked."""
    return {
        k: ("**********" if "token" in k or "key" in k or "secret" in k or "password" in k else v)
        for k, v in config.items()
    }
