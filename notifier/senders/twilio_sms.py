"""SMS through Twilio Programmable Messaging, with the official ``twilio`` library.

One form POST per message: ``To`` (E.164, as intake stored it), ``From`` = ``sms_from`` or else
``MessagingServiceSid``, ``Body``, ``StatusCallback`` = our ``/webhooks/twilio/status``. Before
calling Twilio the text is counted in segments (GSM-7: 160, or 153 per part; UCS-2: 70, or 67
per part; see :mod:`notifier.sms`): a text over the merchant's ``sms_segment_budget`` fails
permanently, naming its segments and encoding, instead of costing money. Twilio's own answers
are classified by :data:`notifier.senders._twilio.TWILIO_ERRORS`.

A merchant's own budget (``merchant.settings["senders"]["twilio"]["sms_segment_budget"]``) reaches
the sender as ``message.metadata["sms_segment_budget"]`` and wins over the service's.
"""

from __future__ import annotations

from typing import ClassVar

from notifier.errors import PermanentSendError
from notifier.senders._twilio import TwilioSender
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.sms import segments

SHOWN_CHARACTERS = 5  # non-GSM characters quoted in a budget refusal
BUDGET_KEY = "sms_segment_budget"  # OutgoingMessage.metadata: the merchant's own budget


class TwilioSmsSender(TwilioSender):
    """Sends SMS through Twilio; see the module docstring."""

    id: ClassVar[str] = "twilio_sms"
    channels: ClassVar[frozenset[str]] = frozenset({"sms"})
    messages: ClassVar[str] = "SMS"
    from_setting: ClassVar[str] = "senders.twilio.sms_from"

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send one SMS; returns the message SID. Raises PermanentSendError (code
        ``segment_budget``) without calling Twilio when the text is over budget."""
        self.check_budget(message.text, self.budget(message))
        fields = {"to": message.to, **self.sender_fields(self.config.sms_from)}
        return await self.create(message, {**fields, "body": message.text})

    def budget(self, message: OutgoingMessage) -> int:
        """The merchant's segment budget from the metadata, else the service's."""
        own = str(message.metadata.get(BUDGET_KEY, "")).strip()
        return int(own) if own.isdigit() and int(own) >= 1 else self.config.sms_segment_budget

    def check_budget(self, text: str, budget: int) -> None:
        """Raise PermanentSendError when ``text`` needs more segments than ``budget``."""
        cost = segments(text)
        if cost.segments <= budget:
            return
        unit = "characters" if cost.encoding == "GSM-7" else "UTF-16 units"
        why = f"{cost.segments} segments ({cost.encoding}, {cost.characters} {unit})"
        if cost.non_gsm:
            shown = " ".join(repr(ch) for ch in cost.non_gsm[:SHOWN_CHARACTERS])
            why += f"; UCS-2 because of {shown}"
        raise PermanentSendError(
            f"the SMS would take {why}, over the budget of {budget} "
            "(sms_segment_budget); shorten the template",
            provider=self.id,
            code="segment_budget",
        )
