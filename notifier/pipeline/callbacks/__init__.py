"""Provider callbacks applied to the store: Twilio message status, Twilio inbound SMS/WhatsApp
(keywords, questions, anything else) and SendGrid events. No HTTP here: the web router reads and
verifies the request, then calls one function of these modules, which does its work in one
transaction.

* :mod:`.shared`: the replay guard, per-address opt-outs, :class:`Result`, the counter, and the
  rules every callback keeps;
* :mod:`.twilio_status`: status callbacks, including those that overtake the dispatcher, and
  the WhatsApp 63016 fallbacks;
* :mod:`.twilio_inbound`: what shoppers write;
* :mod:`.sendgrid_events`: the Event Webhook.

The names below are what the router, the dispatcher and the admin pages use.
"""

from notifier.pipeline.callbacks.sendgrid_events import EventsResult, apply_sendgrid_events
from notifier.pipeline.callbacks.shared import CALLBACKS, InFlight, Result, opt_in, opt_out
from notifier.pipeline.callbacks.twilio_inbound import (
    Answer,
    Inbound,
    Shopper,
    forward_to_cs,
    handle_inbound,
)
from notifier.pipeline.callbacks.twilio_status import (
    TwilioStatus,
    apply_twilio_status,
    enqueue_sms_fallback,
    settle,
    whatsapp_fallback_mode,
)

__all__ = [
    "CALLBACKS",
    "Answer",
    "EventsResult",
    "InFlight",
    "Inbound",
    "Result",
    "Shopper",
    "TwilioStatus",
    "apply_sendgrid_events",
    "apply_twilio_status",
    "enqueue_sms_fallback",
    "forward_to_cs",
    "handle_inbound",
    "opt_in",
    "opt_out",
    "settle",
    "whatsapp_fallback_mode",
]
