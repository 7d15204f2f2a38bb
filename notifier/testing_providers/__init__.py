"""Local stand-ins for the SendGrid and Twilio APIs: real HTTP servers on 127.0.0.1 (uvicorn in
a thread) that answer as the real APIs do, record every request, and fail on demand. For tests,
demos and benchmarks; the official libraries talk to them through ``api_base``.

    with serve(TwilioStandIn()) as twilio:          # twilio.url, twilio.app.requests
        twilio.app.fail_next(code=21610)            # the next request: 400, Twilio error 21610
        twilio.app.hang_next(5.0)                   # the next request answers after 5 s

* :class:`SendgridStandIn`: ``POST /v3/mail/send``, Bearer key; 202 with ``X-Message-Id``
  (200 in sandbox mode); errors as ``{"errors": [{"message", "field", "help"}]}``; the checks
  SendGrid itself makes that matter to us (text/plain first, a subject, a sender).
* :class:`TwilioStandIn`: ``POST /2010-04-01/Accounts/{sid}/Messages.json``, Basic auth; 201
  with the message resource; errors as ``{"code", "message", "more_info", "status"}``: 21211
  for a malformed number, 21610 for numbers in ``opted_out``, 21614 for ``landlines``, and the
  rules the OpenAPI file does not encode (``From`` or ``MessagingServiceSid``; ``Body``,
  ``MediaUrl`` or ``ContentSid``).

Both call ``check_request`` / ``check_response`` hooks when set (tests validate every request
and answer against the vendors' OpenAPI files there) and keep what they find in ``violations``;
a request that fails ``check_request`` is answered 400 so the sender sees it too.
"""

from notifier.testing_providers.base import (
    Fault,
    Recorded,
    RequestCheck,
    ResponseCheck,
    Served,
    StandIn,
    serve,
)
from notifier.testing_providers.sendgrid import SendgridStandIn
from notifier.testing_providers.twilio import TwilioStandIn

__all__ = [
    "Fault",
    "Recorded",
    "RequestCheck",
    "ResponseCheck",
    "SendgridStandIn",
    "Served",
    "StandIn",
    "TwilioStandIn",
    "serve",
]
