"""The SendGrid sender against the SendGrid stand-in: the exact request on the wire, the
provider id, timeouts, a bounded pool and the error table."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any

import pytest
from structlog.testing import capture_logs

from notifier.errors import PermanentSendError, SenderAuthError, TransientSendError
from notifier.senders.sendgrid import SENDGRID_ERRORS, SendgridSender, _detail
from notifier.testing_providers import SendgridStandIn, Served
from tests.senders.helpers import EMAIL, UNSUBSCRIBE, message, settings

FROM = "toko@tokobatiksekar.id"


def make(server: Served[SendgridStandIn], concurrency: int = 4, **config: Any) -> SendgridSender:
    base = {"api_key": server.app.api_key, "api_base": server.url, "from_email": FROM}
    return SendgridSender(base | config, settings(dispatch={"concurrency": concurrency}))


async def test_the_request_on_the_wire(sendgrid: Served[SendgridStandIn]) -> None:
    sender = make(sendgrid, from_name="Sekar Official")
    result = await sender.send(message("email"))
    await sender.aclose()

    [request] = sendgrid.app.requests
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.headers["authorization"] == "Bearer SG.stand-in-key"
    assert request.headers["content-type"] == "application/json"
    body = request.json
    assert body["personalizations"] == [
        {
            "to": [{"email": EMAIL, "name": "Rina Wulandari"}],
            "custom_args": {"notification_id": "42", "merchant_id": "3"},
        }
    ]
    assert "custom_args" not in body  # top level is typed "string" in the vendor's spec
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["content"][1]["value"] == "<p>Pesanan <b>INV/2026/11/0042</b> sudah dikirim</p>"
    assert body["headers"] == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert body["categories"] == ["shipped"]
    assert body["from"] == {"email": FROM, "name": "Toko Batik Sekar"}  # the brand wins
    assert body["reply_to"] == {"email": "halo@tokobatiksekar.id"}
    assert body["subject"] == "Pesanan INV/2026/11/0042 sudah dikirim"
    assert "asm" not in body
    [(message_id, _)] = sendgrid.app.accepted
    assert result.provider_message_id == message_id and len(message_id) == 22
    assert result.status == "accepted"


async def test_from_name_and_unsubscribe_group_from_settings(
    sendgrid: Served[SendgridStandIn],
) -> None:
    sender = make(sendgrid, from_name="Sekar Official", unsubscribe_group=77)
    await sender.send(message("email", shop_name="", html=None, unsubscribe_url=None))
    await sender.aclose()

    body = sendgrid.app.requests[0].json
    assert body["from"] == {"email": FROM, "name": "Sekar Official"}
    assert body["asm"] == {"group_id": 77, "groups_to_display": [77]}
    assert body["content"] == [{"type": "text/plain", "value": message("email").text}]
    assert "headers" not in body  # no unsubscribe link, no List-Unsubscribe


async def test_a_hanging_sendgrid_times_out_as_transient(sendgrid: Served[SendgridStandIn]) -> None:
    sender = make(sendgrid, timeout=0.3)
    sendgrid.app.hang_next(5.0)
    started = time.monotonic()
    with pytest.raises(TransientSendError) as caught:
        await sender.send(message("email"))
    await sender.aclose()
    assert time.monotonic() - started < 1.5
    assert caught.value.code == "network"
    assert "no answer within 0.3 s" in str(caught.value)


async def test_an_unreachable_sendgrid_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    config = {"api_key": "SG.k", "api_base": f"http://127.0.0.1:{port}", "from_email": FROM}
    sender = SendgridSender(config, settings())
    with pytest.raises(TransientSendError, match="cannot reach the provider"):
        await sender.send(message("email"))
    await sender.aclose()


async def test_the_pool_of_threads_is_bounded(sendgrid: Served[SendgridStandIn]) -> None:
    sender = make(sendgrid, concurrency=2)
    sendgrid.app.hang_next(0.3, count=6)
    started = time.monotonic()
    results = await asyncio.gather(*(sender.send(message("email")) for _ in range(6)))
    elapsed = time.monotonic() - started
    threads = [t for t in threading.enumerate() if t.name.startswith("sendgrid")]
    await sender.aclose()
    assert len({r.provider_message_id for r in results}) == 6
    assert len(threads) == 2
    assert elapsed >= 0.9  # three waves of two


async def test_missing_settings_pause_the_sender_without_a_request(
    sendgrid: Served[SendgridStandIn],
) -> None:
    sender = make(sendgrid, api_key=None)
    with pytest.raises(SenderAuthError, match=r"senders\.sendgrid\.api_key") as caught:
        await sender.send(message("email"))
    assert caught.value.code == "config"
    assert sendgrid.app.requests == []


CASES = [
    # status, what the stand-in says, expected error, words in the reason
    (400, {"message": "The from address does not match a verified Sender Identity.",
           "field": "from"}, PermanentSendError,
     "rejected the message (from: The from address does not match a verified Sender Identity.)"),
    (401, {}, SenderAuthError, "API key (senders.sendgrid.api_key) (authorization required)"),
    (403, {}, SenderAuthError, "from_email is not a verified sender"),
    (404, {}, SenderAuthError, "check senders.sendgrid.api_base"),
    (413, {}, PermanentSendError, "larger than SendGrid accepts (content too large)"),
    (429, {}, TransientSendError, "rate limit was reached"),
    (500, {}, TransientSendError, "SendGrid failed (HTTP 500)"),
    (503, {}, TransientSendError, "SendGrid is unavailable"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "answer", "kind", "reason"), CASES)
async def test_error_table(
    sendgrid: Served[SendgridStandIn], status: int, answer: dict, kind: type, reason: str
) -> None:
    sender = make(sendgrid)
    sendgrid.app.fail_next(status=status, **answer)
    with pytest.raises(kind) as caught:
        await sender.send(message("email"))
    await sender.aclose()
    error = caught.value
    assert type(error) is kind
    assert (error.provider, error.code, error.status_code) == ("sendgrid", str(status), status)
    assert reason in str(error)
    assert getattr(error, "opted_out", False) is False


def test_every_status_in_the_table_is_covered() -> None:
    assert {status for status, *_ in CASES} <= set(SENDGRID_ERRORS)


async def test_429_waits_until_the_rate_limit_resets(sendgrid: Served[SendgridStandIn]) -> None:
    sender = make(sendgrid)
    reset = str(int(time.time()) + 120)
    sendgrid.app.fail_next(status=429, headers={"X-RateLimit-Reset": reset})
    with pytest.raises(TransientSendError) as caught:
        await sender.send(message("email"))
    await sender.aclose()
    assert caught.value.retry_after is not None
    assert 115 <= caught.value.retry_after <= 120


async def test_errors_and_logs_never_show_the_address_or_the_key(
    sendgrid: Served[SendgridStandIn],
) -> None:
    sender = make(sendgrid)
    sendgrid.app.fail_next(status=400, message=f"Invalid to address {EMAIL}", field="to")
    with capture_logs() as logged, pytest.raises(PermanentSendError) as caught:
        await sender.send(message("email"))
    await sender.send(message("email"))
    await sender.aclose()
    shown = str(caught.value) + repr(logged)
    assert "r***@example.com" in shown
    assert EMAIL not in shown and sendgrid.app.api_key not in shown


async def test_debug_logging_shows_neither_the_key_nor_the_address(
    sendgrid: Served[SendgridStandIn], caplog: pytest.LogCaptureFixture
) -> None:
    sender = make(sendgrid)
    with caplog.at_level(logging.DEBUG):
        await sender.send(message("email"))
    await sender.aclose()
    assert sendgrid.app.api_key not in caplog.text and EMAIL not in caplog.text


def test_error_details_read_null_fields_as_the_real_api_sends_them() -> None:
    body = b'{"errors":[{"field":null,"message":"authorization required","help":null}]}'
    assert _detail(body) == "authorization required"
    assert _detail(b"<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"
    assert _detail(b"") is None
