"""The Twilio SMS sender against the Twilio stand-in: the form on the wire, the segment budget,
timeouts and Twilio's error codes."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from notifier.errors import PermanentSendError, SenderAuthError, TransientSendError
from notifier.senders._twilio import TWILIO_ERRORS
from notifier.senders.provider import Outcome
from notifier.senders.twilio_sms import TwilioSmsSender
from notifier.testing_providers import Served, TwilioStandIn
from tests.senders.helpers import PHONE, PUBLIC_URL, message, settings

SMS_FROM = "+15005550006"
SERVICE = "MG" + "a1" * 16
CALLBACK = f"{PUBLIC_URL}/webhooks/twilio/status?n=42"  # helpers.message: notification 42


def make(server: Served[TwilioStandIn], **config: Any) -> TwilioSmsSender:
    app = server.app
    base = {
        "account_sid": app.account_sid,
        "auth_token": app.auth_token,
        "api_base": server.url,
        "sms_from": SMS_FROM,
    }
    return TwilioSmsSender(base | config, settings())


async def test_the_form_on_the_wire(twilio: Served[TwilioStandIn]) -> None:
    sender = make(twilio)
    result = await sender.send(message("sms"))
    await sender.aclose()

    [request] = twilio.app.requests
    sid, token = twilio.app.account_sid, twilio.app.auth_token
    assert request.path == f"/2010-04-01/Accounts/{sid}/Messages.json"
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
    )
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": PHONE,
        "From": SMS_FROM,
        "Body": message("sms").text,
        "StatusCallback": CALLBACK,
    }
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("SM") and len(result.provider_message_id) == 34
    assert result.status == "queued"


async def test_a_messaging_service_instead_of_a_number(twilio: Served[TwilioStandIn]) -> None:
    sender = make(twilio, sms_from=None, messaging_service_sid=SERVICE)
    result = await sender.send(message("sms", status_callback="https://cb.example/status"))
    await sender.aclose()
    form = twilio.app.requests[0].form
    assert form["MessagingServiceSid"] == SERVICE and "From" not in form
    assert form["StatusCallback"] == "https://cb.example/status"
    assert result.status == "accepted"  # Twilio's first status with a Messaging Service


async def test_a_text_over_the_segment_budget_is_refused_before_twilio(
    twilio: Served[TwilioStandIn],
) -> None:
    sender = make(twilio, sms_segment_budget=1)
    with pytest.raises(PermanentSendError) as gsm:
        await sender.send(message("sms", text="a" * 161))
    with pytest.raises(PermanentSendError) as ucs:
        await sender.send(message("sms", text="Paket dikirim 📦 " + "x" * 60))
    await sender.send(message("sms", text="a" * 160))  # exactly one segment: sent
    await sender.aclose()

    assert gsm.value.code == "segment_budget" and not gsm.value.opted_out
    assert str(gsm.value) == (
        "twilio_sms [segment_budget]: the SMS would take 2 segments (GSM-7, 161 characters), "
        "over the budget of 1 (sms_segment_budget); shorten the template"
    )
    assert "2 segments (UCS-2, 77 UTF-16 units); UCS-2 because of '📦'" in str(ucs.value)
    assert len(twilio.app.requests) == 1


async def test_the_merchants_own_budget_wins(twilio: Served[TwilioStandIn]) -> None:
    sender = make(twilio, sms_segment_budget=1)
    await sender.send(message("sms", text="a" * 300, metadata={"sms_segment_budget": "2"}))
    with pytest.raises(PermanentSendError, match="over the budget of 1"):
        await sender.send(message("sms", text="a" * 300, metadata={"sms_segment_budget": "x"}))
    await sender.aclose()
    assert len(twilio.app.requests) == 1


# The reasons a merchant reads, for the codes the issue names.
READABLE = {
    21610: "the recipient replied STOP; no more SMS to this number",
    21211: "the number is not a valid phone number",
    21614: "the number is not a mobile number and cannot receive SMS",
    21408: "the Twilio account may not send to this country (Geo Permissions)",
    20429: "too many requests to Twilio at once; retrying later",
    20003: "Twilio refused senders.twilio.account_sid / auth_token",
    63016: "outside the 24-hour WhatsApp session only an approved template may be sent",
}
KINDS = {
    Outcome.TRANSIENT: TransientSendError,
    Outcome.PERMANENT: PermanentSendError,
    Outcome.OPTED_OUT: PermanentSendError,
    Outcome.AUTH: SenderAuthError,
}


@pytest.mark.parametrize("code", sorted(TWILIO_ERRORS))
async def test_error_table(twilio: Served[TwilioStandIn], code: int) -> None:
    rule = TWILIO_ERRORS[code]
    sender = make(twilio)
    twilio.app.fail_next(code=code)
    with pytest.raises(KINDS[rule.outcome]) as caught:
        await sender.send(message("sms"))
    await sender.aclose()
    error = caught.value
    assert type(error) is KINDS[rule.outcome]
    assert error.code == str(code)
    assert error.status_code == twilio.app.status_for(code)
    assert str(error) == f"twilio_sms [{code}]: {rule.reason.format(messages='SMS')}"
    assert getattr(error, "opted_out", False) is (rule.outcome is Outcome.OPTED_OUT)
    if code in READABLE:
        assert str(error).endswith(READABLE[code])


@pytest.mark.parametrize(
    ("status", "code", "kind", "reason"),
    [
        (400, 30999, PermanentSendError, "the provider rejected the message (HTTP 400) (odd)"),
        (502, None, TransientSendError, "the provider failed (HTTP 502)"),
        (403, None, SenderAuthError, "the provider refused our credentials for this action"),
    ],
)
async def test_codes_not_in_the_table_fall_back_to_the_http_status(
    twilio: Served[TwilioStandIn], status: int, code: int | None, kind: type, reason: str
) -> None:
    sender = make(twilio)
    twilio.app.fail_next(status=status, code=code, message="odd")
    with pytest.raises(kind) as caught:
        await sender.send(message("sms"))
    await sender.aclose()
    assert str(caught.value).startswith(f"twilio_sms [{code or status}]: {reason}")


async def test_twilio_answers_for_opted_out_numbers_and_landlines(
    twilio: Served[TwilioStandIn],
) -> None:
    twilio.app.opted_out.add(PHONE)
    twilio.app.landlines.add("+62215550123")
    sender = make(twilio)
    with pytest.raises(PermanentSendError) as stop:
        await sender.send(message("sms"))
    with pytest.raises(PermanentSendError) as landline:
        await sender.send(message("sms", to="+62215550123"))
    await sender.aclose()
    assert stop.value.opted_out and stop.value.code == "21610"
    assert not landline.value.opted_out and landline.value.code == "21614"


async def test_429_carries_retry_after(twilio: Served[TwilioStandIn]) -> None:
    sender = make(twilio)
    twilio.app.fail_next(code=20429, headers={"Retry-After": "17"})
    with pytest.raises(TransientSendError) as caught:
        await sender.send(message("sms"))
    await sender.aclose()
    assert caught.value.retry_after == 17.0 and caught.value.status_code == 429


async def test_a_hanging_twilio_times_out_as_transient(twilio: Served[TwilioStandIn]) -> None:
    sender = make(twilio, timeout=0.3)
    twilio.app.hang_next(5.0)
    started = time.monotonic()
    with pytest.raises(TransientSendError, match=r"no answer within 0\.3 s"):
        await sender.send(message("sms"))
    await sender.aclose()
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"auth_token": None}, "account_sid and auth_token are needed"),
        ({"sms_from": None}, "set senders.twilio.sms_from or messaging_service_sid"),
    ],
)
async def test_missing_settings_pause_the_sender_without_a_request(
    twilio: Served[TwilioStandIn], config: dict, words: str
) -> None:
    sender = make(twilio, **config)
    with pytest.raises(SenderAuthError, match=words) as caught:
        await sender.send(message("sms"))
    assert caught.value.code == "config"
    assert twilio.app.requests == []


async def test_twilio_environment_variables_cannot_redirect_api_base(
    twilio: Served[TwilioStandIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    sender = make(twilio)
    await sender.send(message("sms"))
    await sender.aclose()
    assert len(twilio.app.requests) == 1


PROXY = {"HTTPS_PROXY": "http://px:3128"}


@pytest.mark.parametrize(("env", "reads_env"), [({}, False), (PROXY, True)])
def test_the_environment_is_read_per_request_only_when_it_configures_a_proxy(
    monkeypatch, env, reads_env
) -> None:
    from notifier.senders._twilio import _HttpClient

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = _HttpClient(timeout=5).session
    assert session.trust_env is reads_env
    if not reads_env:  # the bundle requests would have read per request, read once
        assert session.verify == "/etc/ssl/certs/ca-certificates.crt"
