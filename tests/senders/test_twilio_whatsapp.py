"""The Twilio WhatsApp sender: approved templates outside the 24-hour session, free-form text
inside it, and what ``whatsapp_fallback`` does when neither can go."""

from __future__ import annotations

import json
from typing import Any

import pytest

from notifier.errors import PermanentSendError
from notifier.senders.twilio_whatsapp import (
    ChannelFallback,
    TwilioWhatsAppSender,
    content_variables,
    template_variables,
)
from notifier.templating import Templates
from notifier.testing_providers import Served, TwilioStandIn
from tests.senders.helpers import PHONE, PUBLIC_URL, message, settings

WA_FROM = "+14155238886"
SHIPPED_ID, SHIPPED_EN = "HX" + "1d" * 16, "HX" + "2e" * 16
TEMPLATES = {"shipped": {"id": SHIPPED_ID, "en": SHIPPED_EN}}
VARIABLES = template_variables(Templates().sample_context("shipped", "id"), "id")


def make(server: Served[TwilioStandIn], **config: Any) -> TwilioWhatsAppSender:
    app = server.app
    base = {
        "account_sid": app.account_sid,
        "auth_token": app.auth_token,
        "api_base": server.url,
        "whatsapp_from": WA_FROM,
        "whatsapp_templates": TEMPLATES,
    }
    return TwilioWhatsAppSender(base | config, settings())


def wa(**overrides: Any) -> Any:
    metadata = {"notification_id": "42", "trigger": "shipped"} | VARIABLES
    return message("whatsapp", **({"metadata": metadata} | overrides))


async def test_business_initiated_messages_go_as_the_approved_template(
    twilio: Served[TwilioStandIn],
) -> None:
    sender = make(twilio)
    result = await sender.send(wa())
    await sender.aclose()

    [request] = twilio.app.requests
    form = request.form
    assert form == {
        "To": f"whatsapp:{PHONE}",
        "From": f"whatsapp:{WA_FROM}",
        "ContentSid": SHIPPED_ID,
        "ContentVariables": form["ContentVariables"],
        "StatusCallback": f"{PUBLIC_URL}/webhooks/twilio/status?n=42",  # our notification id
    }
    assert json.loads(form["ContentVariables"]) == {
        "1": "Rina",
        "2": "Toko Batik Sekar",
        "3": "INV/2026/11/0042",
        "4": "J&T Express",
        "5": "JX3708794672",
        "6": "https://lacak.tokobatiksekar.id/t/q7XkP2mZ9vRbT4sW",
        "7": "Kamis, 3 Desember 2026",
    }
    assert result.provider_message_id is not None and result.status == "queued"


async def test_inside_the_session_the_text_goes_free_form(twilio: Served[TwilioStandIn]) -> None:
    sender = make(twilio, whatsapp_from=f"whatsapp:{WA_FROM}")  # prefixed already: kept
    await sender.send(wa(session_open=True, text="Halo Kak Rina,\n\nPaket sudah dikirim 📦"))
    await sender.aclose()
    form = twilio.app.requests[0].form
    assert form["Body"] == "Halo Kak Rina,\n\nPaket sudah dikirim 📦"
    assert form["From"] == f"whatsapp:{WA_FROM}"
    assert "ContentSid" not in form and "ContentVariables" not in form


@pytest.mark.parametrize(("locale", "sid"), [("id-ID", SHIPPED_ID), ("en_GB", SHIPPED_EN)])
async def test_the_template_is_found_by_language(
    twilio: Served[TwilioStandIn], locale: str, sid: str
) -> None:
    sender = make(twilio)
    await sender.send(wa(locale=locale))
    await sender.aclose()
    assert twilio.app.requests[0].form["ContentSid"] == sid


async def test_a_messaging_service_when_there_is_no_whatsapp_number(
    twilio: Served[TwilioStandIn],
) -> None:
    service = "MG" + "0f" * 16
    sender = make(twilio, whatsapp_from=None, messaging_service_sid=service)
    await sender.send(wa())
    await sender.aclose()
    form = twilio.app.requests[0].form
    assert form["MessagingServiceSid"] == service and "From" not in form


@pytest.mark.parametrize("policy", ["template", "none"])
async def test_no_template_fails_permanently_without_a_request(
    twilio: Served[TwilioStandIn], policy: str
) -> None:
    sender = make(twilio, whatsapp_fallback=policy)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(wa(trigger="delayed"))
    assert type(caught.value) is PermanentSendError
    assert caught.value.code == "no_template"
    assert str(caught.value) == (
        "twilio_whatsapp [no_template]: outside the 24-hour session and no approved template "
        "for delayed/id (map one in senders.twilio.whatsapp_templates)"
    )
    assert twilio.app.requests == []


async def test_no_template_with_sms_fallback_asks_the_pipeline_for_sms(
    twilio: Served[TwilioStandIn],
) -> None:
    sender = make(twilio, whatsapp_fallback="sms")
    with pytest.raises(ChannelFallback) as caught:
        await sender.send(wa(trigger="delayed"))
    error = caught.value
    assert isinstance(error, PermanentSendError) and not error.opted_out
    assert (error.code, error.channel) == ("fallback:sms", "sms")
    assert "no approved template for delayed/id: send it by SMS" in str(error)
    assert twilio.app.requests == []


async def test_the_merchants_own_template_and_fallback_win(twilio: Served[TwilioStandIn]) -> None:
    own = "HX" + "9f" * 16
    sender = make(twilio, whatsapp_fallback="template")
    await sender.send(wa(metadata=wa().metadata | {"content_sid": own}))
    with pytest.raises(ChannelFallback):
        await sender.send(wa(trigger="delayed", metadata={"whatsapp_fallback": "sms"}))
    await sender.aclose()
    assert [r.form["ContentSid"] for r in twilio.app.requests] == [own]


async def test_63016_to_free_form_is_resent_as_the_template(twilio: Served[TwilioStandIn]) -> None:
    sender = make(twilio, whatsapp_fallback="template")
    twilio.app.fail_next(code=63016)
    result = await sender.send(wa(session_open=True))
    await sender.aclose()
    first, second = (r.form for r in twilio.app.requests)
    assert "Body" in first and "ContentSid" not in first
    assert second["ContentSid"] == SHIPPED_ID and "Body" not in second
    assert result.provider_message_id is not None


@pytest.mark.parametrize(
    ("policy", "templates", "kind", "code"),
    [
        ("sms", TEMPLATES, ChannelFallback, "fallback:sms"),
        ("none", TEMPLATES, PermanentSendError, "63016"),
        ("template", {}, PermanentSendError, "no_template"),
    ],
)
async def test_63016_follows_the_merchants_fallback(
    twilio: Served[TwilioStandIn], policy: str, templates: dict, kind: type, code: str
) -> None:
    sender = make(twilio, whatsapp_fallback=policy, whatsapp_templates=templates)
    twilio.app.fail_next(code=63016)
    with pytest.raises(kind) as caught:
        await sender.send(wa(session_open=True))
    await sender.aclose()
    assert type(caught.value) is kind and caught.value.code == code
    assert "63016" in str(caught.value)
    assert len(twilio.app.requests) == 1


async def test_stop_on_whatsapp_opts_out_of_whatsapp(twilio: Served[TwilioStandIn]) -> None:
    twilio.app.opted_out.add(PHONE)
    sender = make(twilio)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(wa())
    await sender.aclose()
    assert caught.value.opted_out
    assert str(caught.value).endswith("no more WhatsApp messages to this number")


def test_content_variables_are_never_empty_nor_multiline() -> None:
    bare = message("whatsapp", metadata={"tracking_number": "JX 1\n2\t3"})
    assert json.loads(content_variables(bare)) == {
        "1": "Rina",  # from the message when the pipeline gave none
        "2": "Toko Batik Sekar",
        "3": "-",
        "4": "-",
        "5": "JX 1 2 3",
        "6": "-",
        "7": "-",
    }


def test_template_variables_leave_out_what_is_unknown() -> None:
    context = Templates().sample_context("order_confirmed", "en", minimal=True)
    assert template_variables(context, "en") == {
        "customer_name": "Rina",
        "shop_name": "Toko Batik Sekar",
        "order_number": "INV/2026/11/0042",
    }
