"""The default templates and the template engine: what a shopper and a merchant would notice."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest
from jinja2.sandbox import SecurityError

from notifier.errors import TemplateError
from notifier.settings import CHANNELS, TRIGGERS
from notifier.sms import segments
from notifier.templating import (
    SHIPMENT_OPTIONAL,
    RenderedMessage,
    Templates,
    documented_variables,
)

TZ = "Asia/Jakarta"
LOCALES = ("id", "en")
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]")
TEMPLATES = Templates()  # built once, as in production: every template compiled once


def variants(trigger: str, locale: str) -> dict[str, dict[str, Any]]:
    """The sample context, every optional value missing, and the in-between cases."""
    full = TEMPLATES.sample_context(trigger, locale)
    out = {"sample": full, "minimal": TEMPLATES.sample_context(trigger, locale, minimal=True)}
    if full["shipment"] is not None:
        bare_event = copy.deepcopy(full)
        bare_event["shipment"]["last_event"].update(location=None, time=None)
        out["event without location or time"] = bare_event
    else:
        parcel = copy.deepcopy(TEMPLATES.sample_context("shipped", locale))["shipment"]
        out["with a parcel"] = {**copy.deepcopy(full), "shipment": parcel}
    no_name = copy.deepcopy(full)
    no_name["customer"] = {"name": "", "first_name": ""}
    out["no customer name"] = no_name
    if trigger == "delayed":
        for kind in ("eta_passed", "stalled"):
            out[kind] = {**copy.deepcopy(full), "delay": {"kind": kind}}
    return out


CASES = [
    pytest.param(trigger, channel, locale, name, id=f"{trigger}-{channel}-{locale}-{name}")
    for trigger in TRIGGERS
    for channel in CHANNELS
    for locale in LOCALES
    for name in variants(trigger, locale)
]


def render(trigger: str, channel: str, locale: str, context: dict[str, Any]) -> RenderedMessage:
    return TEMPLATES.render(trigger, channel, locale, context, timezone=TZ)


def test_there_is_a_default_template_for_every_trigger_channel_and_locale() -> None:
    expected = {(t, c, loc) for t in TRIGGERS for c in CHANNELS for loc in LOCALES}
    assert set(TEMPLATES.available()) == expected
    assert len(TEMPLATES.available()) == 78


@pytest.mark.parametrize(("trigger", "channel", "locale", "variant"), CASES)
def test_every_default_template_renders(
    trigger: str, channel: str, locale: str, variant: str
) -> None:
    context = variants(trigger, locale)[variant]
    message = render(trigger, channel, locale, context)
    bodies = [message.text] + ([message.html] if channel == "email" else [])
    for body in bodies:
        assert body and body == body.strip()
        assert context["order"]["number"] in body
        if context["shipment"] is not None:
            assert context["shipment"]["tracking_url"] in body
    assert "\n\n\n" not in message.text
    if channel == "email":
        assert message.subject and "\n" not in message.subject
        assert message.html and message.html.startswith("<!DOCTYPE html>")
    else:
        assert message.subject is None and message.html is None
    if channel == "whatsapp":
        assert len(EMOJI.findall(message.text)) <= 1
    if context["customer"]["first_name"] == "":
        assert "Kak ," not in message.text and "Hi ," not in message.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_sms_stays_gsm7_within_two_segments(trigger: str, locale: str) -> None:
    for context in variants(trigger, locale).values():
        cost = segments(render(trigger, "sms", locale, context).text)
        assert cost.encoding == "GSM-7", cost.non_gsm
        assert cost.segments <= 2


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_email_html_escapes_shop_controlled_values(trigger: str) -> None:
    context = TEMPLATES.sample_context(trigger, "id")
    context["customer"]["first_name"] = "<b>x</b>"
    context["shop"]["name"] = "Batik <script>alert(1)</script>"
    message = render(trigger, "email", "id", context)
    assert message.html is not None
    assert "<b>x</b>" not in message.html and "<script>" not in message.html
    assert "&lt;b&gt;x&lt;/b&gt;" in message.html
    assert "<b>x</b>" in message.text  # plain text is not HTML: no entities there


def test_email_layout_has_button_contacts_and_unsubscribe() -> None:
    context = TEMPLATES.sample_context("shipped", "id")
    html = render("shipped", "email", "id", context).html or ""
    assert f'<a href="{context["shipment"]["tracking_url"]}"' in html
    assert ">Lacak Paket</a>" in html
    assert "https://wa.me/6281234567890" in html and "mailto:halo@tokobatiksekar.id" in html
    assert context["unsubscribe_url"] in html
    assert "src=" not in html and "<link" not in html  # no external assets


def test_indonesian_shipped_whatsapp_reads_like_a_local_shop() -> None:
    text = render("shipped", "whatsapp", "id", TEMPLATES.sample_context("shipped", "id")).text
    assert text.startswith("Halo Kak Rina,")
    assert "No. resi: *JX3708794672*" in text
    assert "Estimasi tiba: *Kamis, 3 Desember 2026*" in text
    assert "https://wa.me/6281234567890" in text


def test_missing_optional_values_leave_no_trace() -> None:
    context = TEMPLATES.sample_context("shipped", "id", minimal=True)
    text = render("shipped", "whatsapp", "id", context).text
    assert "Estimasi" not in text and "wa.me" not in text and "None" not in text


def test_delayed_explains_each_kind_and_apologises() -> None:
    context = TEMPLATES.sample_context("delayed", "id")
    slipped = render("delayed", "whatsapp", "id", context).text
    assert "Sabtu, 5 Desember 2026" in slipped and "sebelumnya Kamis, 3 Desember 2026" in slipped
    passed = render("delayed", "whatsapp", "id", {**context, "delay": {"kind": "eta_passed"}})
    assert "belum tiba sesuai estimasi" in passed.text
    stalled = render("delayed", "sms", "en", {**context, "delay": {"kind": "stalled"}})
    assert "hasn't updated" in stalled.text
    for text in (slipped, passed.text):
        assert "Kami minta maaf atas ketidaknyamanannya" in text
    english = render("delayed", "email", "en", TEMPLATES.sample_context("delayed", "en"))
    assert "new estimate 5 Dec" in (english.subject or "")


def test_failed_attempt_says_what_happens_next() -> None:
    text = render(
        "failed_attempt", "whatsapp", "id", TEMPLATES.sample_context("failed_attempt", "id")
    ).text
    assert "mencoba mengantar lagi" in text and "Penerima tidak di tempat" in text


def test_pickup_names_the_location() -> None:
    context = TEMPLATES.sample_context("available_for_pickup", "en")
    for channel in CHANNELS:
        assert (
            "J&T Drop Point Kebayoran Baru"
            in render("available_for_pickup", channel, "en", context).text
        )


def test_feedback_request_links_the_review_page_without_promising_a_voucher() -> None:
    context = TEMPLATES.sample_context("feedback_request", "id")
    for channel in CHANNELS:
        text = render("feedback_request", channel, "id", context).text
        assert context["feedback_url"] in text
        assert "voucher" not in text.lower()


def test_refund_update_shows_status_and_amount() -> None:
    context = TEMPLATES.sample_context("refund_update", "id")
    text = render("refund_update", "sms", "id", context).text
    assert "Refund sudah diproses" in text and "Rp150.000" in text
    context["refund"] = {"status": "failed", "amount": Decimal("99500"), "currency": "IDR"}
    text = render("refund_update", "whatsapp", "id", context).text
    assert "Rp99.500" in text and "Kami minta maaf atas ketidaknyamanannya" in text


def test_return_update_labels_the_status() -> None:
    context = {**TEMPLATES.sample_context("return_update", "en"), "return": {"status": "received"}}
    assert "Return received" in render("return_update", "whatsapp", "en", context).text


def test_times_are_shown_in_the_shoppers_zone() -> None:
    context = TEMPLATES.sample_context("delivered", "id")
    jakarta = render("delivered", "whatsapp", "id", context).text
    jayapura = TEMPLATES.render("delivered", "whatsapp", "id", context, timezone="Asia/Jayapura")
    assert "3 Des 15.47 WIB" in jakarta and "3 Des 17.47 WIT" in jayapura.text


def test_render_arguments_win_over_the_context() -> None:
    context = TEMPLATES.sample_context("shipped", "id")  # says locale "id"
    text = render("shipped", "whatsapp", "en", context).text
    assert "Thursday, 3 December 2026" in text


# --- overrides and errors ------------------------------------------------------------------


def test_an_override_renders_instead_of_the_default() -> None:
    context = TEMPLATES.sample_context("shipped", "id")
    source = "\n\n  Pesanan {{ order.number }} OTW!\n\n\n\n{{ shipment.tracking_url }}  \n\n"
    message = TEMPLATES.render("shipped", "sms", "id", context, timezone=TZ, override=source)
    assert message.text == f"Pesanan INV/2026/11/0042 OTW!\n\n{context['shipment']['tracking_url']}"


def test_an_email_override_can_use_the_layout() -> None:
    source = (
        '{% extends "_layouts/email.html.j2" %}{% block subject %}Dikirim!{% endblock %}'
        "{% block text %}Teks {{ shipment.tracking_url }}{% endblock %}"
        "{% block html %}<p>{{ customer.first_name }}</p>{% endblock %}"
    )
    context = TEMPLATES.sample_context("shipped", "id")
    message = TEMPLATES.render("shipped", "email", "id", context, timezone=TZ, override=source)
    assert message.subject == "Dikirim!"
    assert message.text.startswith("Teks https://")
    assert "<p>Rina</p>" in (message.html or "") and "Toko Batik Sekar" in (message.html or "")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ shop.name.__class__.__base__.__subclasses__() }}",
        "{{ order.number.format.__globals__ }}",
        "{% set items = [] %}{{ items.append(1) }}",
    ],
)
def test_sandbox_escapes_raise_template_error(source: str) -> None:
    context = TEMPLATES.sample_context("shipped", "id")
    with pytest.raises(TemplateError) as caught:
        TEMPLATES.render("shipped", "sms", "id", context, timezone=TZ, override=source)
    assert isinstance(caught.value.__cause__, SecurityError)
    assert "not allowed" in str(caught.value)


def test_an_undefined_value_names_the_template_and_line() -> None:
    context = TEMPLATES.sample_context("shipped", "id")
    source = "Halo\n{{ shipment.trackng_url }}"
    with pytest.raises(TemplateError) as caught:
        TEMPLATES.render("shipped", "sms", "id", context, timezone=TZ, override=source)
    assert caught.value.line == 2
    assert "trackng_url" in str(caught.value) and "shipped/sms.id.j2" in str(caught.value)


def test_an_override_with_a_syntax_error_raises_template_error_with_its_line() -> None:
    context = TEMPLATES.sample_context("shipped", "id")
    with pytest.raises(TemplateError, match="syntax error") as caught:
        TEMPLATES.render(
            "shipped", "sms", "id", context, timezone=TZ, override="ok\n{% if %}\n{% endif %}"
        )
    assert caught.value.line == 2


def test_an_error_in_a_default_template_names_it_relative_to_the_folder() -> None:
    context = TEMPLATES.sample_context("shipped", "id")
    del context["shipment"]["carrier_name"]  # a context that breaks the contract
    with pytest.raises(TemplateError) as caught:
        render("shipped", "sms", "id", context)
    assert caught.value.template == "shipped/sms.id.j2" and caught.value.line == 1


def test_each_optional_value_can_be_missing_on_its_own() -> None:
    optional = TEMPLATES._sample["optional"]
    for trigger, channel, locale in TEMPLATES.available():
        for path in optional:
            context = TEMPLATES.sample_context(trigger, locale)
            *parents, leaf = path.split(".")
            target = context
            for key in parents:
                target = target[key] if target is not None else None
            if target is None:
                continue
            target[leaf] = None
            text = render(trigger, channel, locale, context).text
            assert "None" not in text, (trigger, channel, locale, path)
            if context["shipment"] is not None:
                assert context["shipment"]["tracking_url"] in text


def test_a_filter_error_becomes_a_template_error() -> None:
    context = TEMPLATES.sample_context("shipped", "id", minimal=True)
    with pytest.raises(TemplateError, match="guard optional values"):
        TEMPLATES.render(
            "shipped", "sms", "id", context, timezone=TZ, override="{{ shipment.eta | date }}"
        )


def test_unknown_templates_and_zones_raise_template_error() -> None:
    context = TEMPLATES.sample_context("shipped", "id")
    with pytest.raises(TemplateError, match="no such template"):
        TEMPLATES.render("shipped", "sms", "fr", context, timezone=TZ)
    with pytest.raises(TemplateError, match="unknown time zone"):
        TEMPLATES.render("shipped", "sms", "id", context, timezone="Mars/Olympus")


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("trigger", "channel", "locale"), TEMPLATES.available())
def test_every_default_template_validates(trigger: str, channel: str, locale: str) -> None:
    assert TEMPLATES.validate(TEMPLATES.source(trigger, channel, locale), trigger, channel) == []


def test_validate_reports_misspelled_variables_with_their_line() -> None:
    source = "Halo {{ customer.first_name }}\n{{ shipment.trackng_url }}\n{{ custmer.name }}"
    problems = TEMPLATES.validate(source, "shipped", "sms")
    found = {(p.message, p.line) for p in problems}
    assert ("unknown variable 'shipment.trackng_url'", 2) in found
    assert ("unknown variable 'custmer'", 3) in found


def test_validate_knows_which_variables_each_trigger_has() -> None:
    source = "{{ shipment.tracking_url }} {{ delay.kind }}"
    assert TEMPLATES.validate(source, "delayed", "sms") == []
    problems = TEMPLATES.validate(source, "shipped", "sms")
    assert [p.message for p in problems] == ["unknown variable 'delay'"]
    assert "unsubscribe_url" in documented_variables("shipped", "email")
    assert "unsubscribe_url" not in documented_variables("shipped", "sms")


def test_validate_allows_local_names_and_value_methods() -> None:
    source = (
        "{% set n = order.number %}{% for c in [shop.name] %}{{ c.upper() }}{% endfor %}"
        "{{ n }} {{ shipment.tracking_url }} {{ shipment['carrier_name'] }}"
    )
    assert TEMPLATES.validate(source, "shipped", "whatsapp") == []


def test_validate_reports_syntax_errors_with_their_line() -> None:
    problems = TEMPLATES.validate("{{ shipment.tracking_url }}\n\n{% if %}", "shipped", "sms")
    assert len(problems) == 1 and problems[0].line == 3
    assert problems[0].message.startswith("syntax error")
    problems = TEMPLATES.validate("{{ shipment.tracking_url | nosuch }}", "shipped", "sms")
    assert "nosuch" in problems[0].message


def test_validate_requires_the_tracking_link_where_there_is_a_parcel() -> None:
    source = "Halo Kak {{ customer.first_name }}, pesanan {{ order.number }} dikirim."
    assert "tracking link" in TEMPLATES.validate(source, "shipped", "whatsapp")[0].message
    assert TEMPLATES.validate(source, "order_confirmed", "whatsapp") == []
    assert "order_confirmed" in SHIPMENT_OPTIONAL


def test_validate_requires_the_three_email_blocks() -> None:
    source = (
        "{% block subject %}Hi{% endblock %}"
        "{% block text %}{{ shipment.tracking_url }}{% endblock %}"
    )
    messages = [p.message for p in TEMPLATES.validate(source, "shipped", "email")]
    assert messages == ["email template needs {% block html %}"]
    source += "{% block html %}<p>Hi</p>{% endblock %}"
    messages = [p.message for p in TEMPLATES.validate(source, "shipped", "email")]
    assert messages == ["the html block has no tracking link"]


def test_validate_catches_unguarded_optional_values_by_trial_rendering() -> None:
    source = "{{ shipment.tracking_url }} tiba {{ shipment.eta | date }}"
    problems = TEMPLATES.validate(source, "shipped", "sms")
    assert len(problems) == 1
    assert problems[0].message.startswith("without optional values") and problems[0].line == 1


def test_validate_rejects_unknown_triggers() -> None:
    assert TEMPLATES.validate("x", "parcel_eaten", "sms")[0].message.startswith("unknown trigger")


# --- locales and sources -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shopper", "merchant", "expected"),
    [
        ("id-ID", None, "id"),
        ("id_ID", "en", "id"),
        ("in", "en", "id"),  # Java's legacy code for Indonesian
        ("en-US", "id", "en"),
        ("fr-FR", "id", "id"),
        ("fr", "de", "en"),
        (None, None, "en"),
        ("", "ID", "id"),
    ],
)
def test_resolve_locale_falls_back_shopper_merchant_english(
    shopper: str | None, merchant: str | None, expected: str
) -> None:
    assert TEMPLATES.resolve_locale(shopper, merchant) == expected


def test_source_is_the_default_file() -> None:
    source = TEMPLATES.source("shipped", "whatsapp", "id")
    assert source == (TEMPLATES.root / "shipped" / "whatsapp.id.j2").read_text(encoding="utf-8")
    with pytest.raises(TemplateError):
        TEMPLATES.source("shipped", "whatsapp", "fr")


def test_sample_context_has_every_documented_key() -> None:
    for trigger in TRIGGERS:
        context = TEMPLATES.sample_context(trigger, "id")
        assert set(documented_variables(trigger, "email")) <= set(context)
        assert (context["shipment"] is None) == (trigger in SHIPMENT_OPTIONAL)
    assert context["order"]["total"] == Decimal("150000")
