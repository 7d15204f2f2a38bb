"""The stand-ins answer as the real APIs do (bodies, statuses, headers), fail on demand, and
their spec checks catch a request that breaks the vendor's OpenAPI file."""

from __future__ import annotations

import contextlib
import time

import httpx

from notifier.testing_providers import SendgridStandIn, Served, TwilioStandIn, serve

SID = "AC" + "5" * 32


def twilio_post(
    server: Served[TwilioStandIn], form: dict[str, str], sid: str = SID
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/2010-04-01/Accounts/{sid}/Messages.json",
        data=form,
        auth=(server.app.account_sid, server.app.auth_token),
    )


def sendgrid_post(
    server: Served[SendgridStandIn], body: dict, key: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or server.app.api_key}"}
    return httpx.post(f"{server.url}/v3/mail/send", json=body, headers=headers)


MAIL = {
    "personalizations": [{"to": [{"email": "rina@example.com"}]}],
    "from": {"email": "toko@tokobatiksekar.id"},
    "subject": "Paket dikirim",
    "content": [
        {"type": "text/plain", "value": "resi JX1"},
        {"type": "text/html", "value": "<p>JX1</p>"},
    ],
}
SMS = {
    "To": "+6281234567890",
    "From": "+15005550006",
    "Body": "resi JX1",
    "StatusCallback": "https://x.id/cb",
}


def test_twilio_creates_a_message_resource(twilio: Served[TwilioStandIn]) -> None:
    answer = twilio_post(twilio, SMS)
    assert answer.status_code == 201
    body = answer.json()
    assert body["sid"].startswith("SM") and body["status"] == "queued"
    assert (body["to"], body["from"], body["body"], body["num_segments"]) == (
        "+6281234567890",
        "+15005550006",
        "resi JX1",
        "1",
    )
    assert twilio.app.created == [(body["sid"], SMS)]


def test_twilio_errors_have_the_documented_body(twilio: Served[TwilioStandIn]) -> None:
    twilio.app.fail_next(code=21610)
    answer = twilio_post(twilio, SMS)
    assert answer.status_code == 400
    assert answer.json() == {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
    twilio.app.fail_next(code=20429, headers={"Retry-After": "3"})
    limited = twilio_post(twilio, SMS)
    assert (limited.status_code, limited.json()["code"], limited.headers["retry-after"]) == (
        429,
        20429,
        "3",
    )


def test_twilio_checks_credentials_and_the_rules_outside_the_spec(
    twilio: Served[TwilioStandIn],
) -> None:
    wrong = httpx.post(
        f"{twilio.url}/2010-04-01/Accounts/{SID}/Messages.json", data=SMS, auth=(SID, "nope")
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, 20003)
    no_from = {k: v for k, v in SMS.items() if k != "From"}
    assert twilio_post(twilio, no_from).json()["code"] == 21603
    assert twilio_post(twilio, {**SMS, "To": "081234567890"}).json()["code"] == 21211
    # the same mistakes are violations of what our tests hold senders to
    assert any("neither From nor MessagingServiceSid" in v for v in twilio.app.violations)
    assert any("To is not E.164" in v for v in twilio.app.violations)
    twilio.app.violations.clear()


def test_a_request_against_the_spec_is_caught_and_refused(twilio: Served[TwilioStandIn]) -> None:
    bad_sid = twilio_post(twilio, SMS, sid="AC-not-a-sid")
    assert bad_sid.status_code == 401  # what Twilio says; the spec check records why
    assert "does not match '^AC[0-9a-fA-F]{32}$'" in twilio.app.violations[0]
    bad_type = twilio_post(twilio, {**SMS, "ValidityPeriod": "soon"})
    assert bad_type.status_code == 400  # Twilio would take it; the spec does not
    assert "Failed to cast value to integer type: soon" in bad_type.json()["message"]
    assert len(twilio.app.violations) == 2 and twilio.app.created == []
    twilio.app.violations.clear()


def test_fail_next_fails_exactly_that_many(twilio: Served[TwilioStandIn]) -> None:
    twilio.app.fail_next(2, code=20500)
    statuses = [twilio_post(twilio, SMS).status_code for _ in range(3)]
    assert statuses == [500, 500, 201]
    assert len(twilio.app.requests) == 3


def test_sendgrid_accepts_with_a_message_id(sendgrid: Served[SendgridStandIn]) -> None:
    answer = sendgrid_post(sendgrid, MAIL)
    assert answer.status_code == 202 and answer.content == b""
    [(message_id, body)] = sendgrid.app.accepted
    assert answer.headers["x-message-id"] == message_id and body == MAIL
    sandbox = sendgrid_post(sendgrid, {**MAIL, "mail_settings": {"sandbox_mode": {"enable": True}}})
    assert sandbox.status_code == 200 and len(sendgrid.app.accepted) == 1


def test_sendgrid_refuses_as_sendgrid_does(sendgrid: Served[SendgridStandIn]) -> None:
    html_first = {**MAIL, "content": MAIL["content"][::-1]}
    answer = sendgrid_post(sendgrid, html_first)
    assert answer.status_code == 400
    assert answer.json() == {
        "errors": [
            {
                "message": (
                    "The text/plain content type must be first, before any other content types."
                ),
                "field": "content",
            }
        ]
    }
    assert sendgrid_post(sendgrid, MAIL, key="SG.other").status_code == 401
    sendgrid.app.fail_next(status=429)
    limited = sendgrid_post(sendgrid, MAIL)
    assert limited.status_code == 429
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) > time.time()


def test_stopping_releases_hanging_requests() -> None:
    with serve(TwilioStandIn()) as server:
        server.app.hang_next(30.0)
        started = time.monotonic()
        with contextlib.suppress(httpx.TimeoutException):
            httpx.post(
                f"{server.url}/2010-04-01/Accounts/{SID}/Messages.json", data=SMS, timeout=0.2
            )
    assert time.monotonic() - started < 3.0
