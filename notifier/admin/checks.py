"""Checking a merchant's template before it is saved, and previewing it in its channel.

:func:`check` is :meth:`Templates.validate` (syntax, documented variables with their lines,
tracking link, email blocks, trial renders) plus what depends on the merchant and the senders:

* SMS: the sample message must fit the merchant's segment budget (``sms_segment_budget`` in the
  merchant's settings, else ``senders.twilio.sms_segment_budget``); the encoding is part of the
  finding because one emoji turns 160 characters per segment into 70.
* WhatsApp through ``twilio_whatsapp``: every message we send is business-initiated, so an
  approved Content template must be mapped for the trigger and locale
  (``senders.twilio.whatsapp_templates`` in the merchant's settings, else the service's).

:func:`preview` renders the Indonesian sample shop's message (with the merchant's own brand
name and contacts when set) the way the shopper would get it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notifier import sms
from notifier.errors import TemplateError
from notifier.runtime import Runtime
from notifier.store.models import Merchant
from notifier.templating import RenderedMessage, TemplateProblem

from .versions import TemplateKey

BRAND_FIELDS = ("cs_whatsapp", "cs_email", "website")


@dataclass(frozen=True, slots=True)
class SmsInfo:
    """What the sample SMS costs, against the merchant's budget."""

    encoding: str
    characters: int
    segments: int
    per_segment: int
    non_gsm: tuple[str, ...]
    budget: int

    @property
    def over_budget(self) -> bool:
        return self.segments > self.budget


@dataclass(slots=True)
class Preview:
    """The sample message as the shopper would see it, and what is wrong with the source."""

    key: TemplateKey
    subject: str | None = None
    text: str = ""
    html: str | None = None
    sms: SmsInfo | None = None
    problems: list[TemplateProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def segment_budget(rt: Runtime, merchant: Merchant) -> int:
    """The most SMS segments one message may cost this merchant."""
    own = (merchant.settings or {}).get("sms_segment_budget")
    if isinstance(own, int) and not isinstance(own, bool) and own >= 1:
        return own
    return rt.settings.senders.twilio.sms_segment_budget


def whatsapp_mapping(rt: Runtime, merchant: Merchant) -> dict[str, Any]:
    """The approved WhatsApp templates per trigger and locale: the merchant's, else ours."""
    own = ((merchant.settings or {}).get("senders") or {}).get("twilio") or {}
    mapped = own.get("whatsapp_templates")
    return mapped if isinstance(mapped, dict) else rt.settings.senders.twilio.whatsapp_templates


def sample_context(rt: Runtime, merchant: Merchant, key: TemplateKey) -> dict[str, Any]:
    """The sample shop's context for ``key``, with the merchant's brand where it has one."""
    context = rt.templates.sample_context(key.trigger, key.locale)
    brand = (merchant.settings or {}).get("brand") or {}
    shop = dict(context["shop"])
    shop["name"] = brand.get("name") or merchant.name or shop["name"]
    shop.update({k: brand[k] for k in BRAND_FIELDS if brand.get(k)})
    return context | {"shop": shop, "channel": key.channel}


def render_sample(
    rt: Runtime, merchant: Merchant, key: TemplateKey, source: str | None
) -> RenderedMessage:
    """Render the sample with ``source`` (None: the default). Raises TemplateError."""
    return rt.templates.render(
        key.trigger,
        key.channel,
        key.locale,
        sample_context(rt, merchant, key),
        timezone=merchant.timezone,
        override=source,
    )


def sms_info(rt: Runtime, merchant: Merchant, text: str) -> SmsInfo:
    cost = sms.segments(text)
    return SmsInfo(
        encoding=cost.encoding,
        characters=cost.characters,
        segments=cost.segments,
        per_segment=cost.per_segment,
        non_gsm=cost.non_gsm,
        budget=segment_budget(rt, merchant),
    )


def check(rt: Runtime, merchant: Merchant, key: TemplateKey, source: str) -> list[TemplateProblem]:
    """Every problem of ``source`` as the merchant's ``key`` template; [] means it may be saved."""
    problems = rt.templates.validate(source, key.trigger, key.channel)
    if problems:
        return problems
    try:
        rendered = render_sample(rt, merchant, key, source)
    except TemplateError as err:
        return [TemplateProblem(f"with the sample data: {err.args[0]}", err.line)]
    if key.channel == "sms":
        problems += _budget_problems(sms_info(rt, merchant, rendered.text))
    if key.channel == "whatsapp":
        problems += _mapping_problems(rt, merchant, key)
    return problems


def _budget_problems(info: SmsInfo) -> list[TemplateProblem]:
    if not info.over_budget:
        return []
    why = ""
    if info.non_gsm:
        shown = " ".join(repr(ch) for ch in info.non_gsm[:5])
        why = f"; {shown} force UCS-2, {info.per_segment} characters per segment"
    return [
        TemplateProblem(
            f"the sample SMS is {info.segments} segments ({info.characters} characters, "
            f"{info.encoding}{why}); your budget is {info.budget}"
        )
    ]


def _mapping_problems(rt: Runtime, merchant: Merchant, key: TemplateKey) -> list[TemplateProblem]:
    if rt.settings.senders.whatsapp != "twilio_whatsapp":
        return []
    per_locale = whatsapp_mapping(rt, merchant).get(key.trigger) or {}
    language = key.locale.replace("_", "-").split("-")[0]
    if per_locale.get(key.locale) or per_locale.get(language):
        return []
    return [
        TemplateProblem(
            "no approved WhatsApp template is mapped for this message "
            f"(senders.twilio.whatsapp_templates.{key.trigger}.{key.locale}); messages we "
            "start outside the shopper's 24-hour window cannot go without one"
        )
    ]


def preview(
    rt: Runtime, merchant: Merchant, key: TemplateKey, source: str | None = None
) -> Preview:
    """The sample message rendered with ``source`` (None: the default), with its problems.
    An SMS preview carries its segment count and encoding."""
    shown = Preview(key)
    if source is not None:
        shown.problems = check(rt, merchant, key, source)
        if any(p.message.startswith("syntax error") for p in shown.problems):
            return shown
    try:
        rendered = render_sample(rt, merchant, key, source)
    except TemplateError as err:
        if not shown.problems:
            shown.problems = [TemplateProblem(str(err.args[0]), err.line)]
        return shown
    shown.subject, shown.text, shown.html = rendered.subject, rendered.text, rendered.html
    if key.channel == "sms":
        shown.sms = sms_info(rt, merchant, rendered.text)
    return shown


def problems_json(problems: list[TemplateProblem]) -> list[dict[str, Any]]:
    return [{"message": p.message, "line": p.line} for p in problems]


def preview_json(shown: Preview) -> dict[str, Any]:
    """The preview for the API and the editor's live preview."""
    info = shown.sms
    return {
        "trigger": shown.key.trigger,
        "channel": shown.key.channel,
        "locale": shown.key.locale,
        "ok": shown.ok,
        "subject": shown.subject,
        "text": shown.text,
        "html": shown.html,
        "sms": None
        if info is None
        else {
            "encoding": info.encoding,
            "characters": info.characters,
            "segments": info.segments,
            "per_segment": info.per_segment,
            "non_gsm": list(info.non_gsm),
            "budget": info.budget,
            "over_budget": info.over_budget,
        },
        "problems": problems_json(shown.problems),
    }
