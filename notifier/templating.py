"""Message templates: sandboxed Jinja2 over ``message_templates/`` and merchant overrides.

Templates live at ``message_templates/<trigger>/<channel>.<locale>.j2``. A merchant's override
(loaded from the database by the caller: this module runs no SQL) replaces the default source of
one trigger/channel/locale. Email templates define three blocks, ``subject``, ``text`` (plain
text) and ``html``, and usually extend ``_layouts/email.html.j2``; only the HTML rendering is
autoescaped. Rendering uses :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` and
:class:`~jinja2.StrictUndefined`, so every failure is loud and becomes a
:class:`~notifier.errors.TemplateError`.

The render context (built by the dispatcher; every key is always present, None when unknown)::

    trigger: str; channel: str; locale: str
    shop:      {name, cs_whatsapp (E.164) | None, cs_email | None, website | None}
    customer:  {name, first_name}
    order:     {number, total: Decimal | None (major units), currency | None,
                paid_at: datetime | None}
    shipment:  None (order_confirmed, return_update, refund_update without a parcel) or
               {carrier (id), carrier_name, tracking_number, tracking_url, status (normalized),
                eta: date | None, previous_eta: date | None,
                last_event: {description, location | None, time: datetime | None} | None}
    delay:     {kind: "eta_slipped" | "eta_passed" | "stalled"} | None
    feedback_url: str | None
    return:    {status} | None          refund: {status, amount: Decimal | None, currency | None}
    unsubscribe_url: str | None
    digest:    None, or for ``parcel_digest`` (a merchant's per-order digest, see
               :mod:`notifier.pipeline.digest`) {trigger: "parcel_digest", count: int,
               parcels: [{trigger, carrier_name, tracking_number, tracking_url, status,
               eta: date | None, last_event: {description, location, time} | None}, ...]};
               ``shipment`` is then the first parcel's

The documented variable set per trigger (what :meth:`Templates.validate` accepts) is
``trigger, channel, locale, shop, customer, order, shipment`` for every trigger, plus:

* ``delayed``: ``delay``;  ``feedback_request``: ``feedback_url``;
* ``return_update``: ``return``;  ``refund_update``: ``refund``;
* ``parcel_digest``: ``digest`` (not a merchant-facing trigger: dispatch renders it for a
  digest, its sample is ``digest.sample_context``);
* on the email channel: ``unsubscribe_url``.

``shipment`` may be None only for ``order_confirmed``, ``return_update`` and ``refund_update``
(:data:`SHIPMENT_OPTIONAL`); every other trigger's template must contain the tracking link.
Filters (see :mod:`notifier.formatting`): ``date``, ``short_date``, ``datetime``, ``time``,
``money``, ``status_label``, ``return_label``, ``refund_label``, ``phone``, ``wa_link``.

Rendered text is stripped, trailing spaces are dropped and runs of blank lines collapse to one;
an email subject is one line. On the hot path (SMS) nothing is compiled or copied twice: both
environments and every template are built once per :class:`Templates`, and merchant overrides
are kept compiled in a small LRU keyed by their source.

Runaway renders are cut off by the sandbox (:mod:`notifier.sandbox`): see there.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from jinja2 import FileSystemLoader
from jinja2.sandbox import SecurityError

from notifier.errors import TemplateError
from notifier.formatting import RENDER_KEY, RenderLocale
from notifier.paths import data_dir
from notifier.render_limits import MAX_RANGE, RenderLimit, RenderLimits
from notifier.sandbox import BUDGET, CLOCK_EVERY, Budget, environment
from notifier.settings import CHANNELS, TRIGGERS
from notifier.template_checks import (
    SHIPMENT_OPTIONAL,
    TemplateProblem,
    documented_variables,
    fields,
    static_problems,
)

__all__ = [
    "MAX_RANGE",
    "SHIPMENT_OPTIONAL",
    "RenderLimit",
    "RenderLimits",
    "RenderedMessage",
    "TemplateProblem",
    "Templates",
    "documented_variables",
    "template_name",
]

SAMPLE_FILE = "_sample.toml"  # beside the templates: the sample shop, order and parcel
_OVERRIDE_CACHE = 256  # compiled merchant overrides kept
MAX_SOURCE_CHARS = 65_536  # a merchant's template source
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def template_name(trigger: str, channel: str, locale: str) -> str:
    """The path of a default template below the templates folder."""
    return f"{trigger}/{channel}.{locale}.j2"


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One rendered message; ``subject`` and ``html`` are set for email only."""

    subject: str | None
    text: str
    html: str | None


class Templates:
    """Loads, caches, renders and validates message templates. Thread-safe; build one per
    process and share it (every template is compiled once). ``limits`` bound each render."""

    def __init__(self, root: Path | None = None, *, limits: RenderLimits | None = None) -> None:
        self.root = root if root is not None else data_dir("message_templates")
        self.limits = limits or RenderLimits()
        loader = FileSystemLoader(self.root)
        self._envs = {
            flag: environment(loader, html=flag, limits=self.limits) for flag in (False, True)
        }
        self._globals = dict(self._envs[False].globals)  # the same in both environments
        self._compiled: dict[tuple[bool, str], jinja2.Template] = {}
        self._overrides: OrderedDict[tuple[bool, str, str], jinja2.Template] = OrderedDict()
        self._lock = threading.Lock()
        self._available = self._scan()
        self._locales = frozenset(locale for _, _, locale in self._available)

    def render(
        self,
        trigger: str,
        channel: str,
        locale: str,
        context: Mapping[str, Any],
        *,
        timezone: str,
        override: str | None = None,
    ) -> RenderedMessage:
        """Render one message. ``timezone`` is the shopper's IANA zone (times are shown in
        it); ``override`` is the merchant's source for this trigger/channel/locale, used
        instead of the default. ``trigger``, ``channel`` and ``locale`` in the context are
        set from the arguments. Raises TemplateError on any failure, including a render cut
        off by the limits ("render stopped: ...")."""
        name = template_name(trigger, channel, locale)
        if not _known_zone(timezone):
            raise TemplateError(f"unknown time zone {timezone!r}", template=name)
        html = channel == "email"
        variables = {
            **self._globals,
            **context,
            "trigger": trigger,
            "channel": channel,
            "locale": locale,
            RENDER_KEY: RenderLocale(locale, timezone),
        }
        budget = BUDGET.set(Budget(self.limits))
        try:
            if html:
                return self._email(name, variables, override)
            text = _run(self._template(name, override, html=False), variables)
        except TemplateError:
            raise
        except Exception as err:  # a template is untrusted code: any failure fails this message
            raise _template_error(err, name, self.root) from err
        finally:
            BUDGET.reset(budget)
        return RenderedMessage(subject=None, text=_tidy(text), html=None)

    def _email(self, name: str, variables: dict[str, Any], override: str | None) -> RenderedMessage:
        plain = self._template(name, override, html=False)
        subject = " ".join(_run(plain, variables, "subject").split())
        text = _tidy(_run(plain, variables, "text"))
        html = _run(self._template(name, override, html=True), variables).strip()
        return RenderedMessage(subject=subject, text=text, html=html)

    def _template(self, name: str, override: str | None, *, html: bool) -> jinja2.Template:
        if override is not None:
            return self._override(name, override, html=html)
        found = self._compiled.get((html, name))
        if found is None:
            try:
                found = self._envs[html].get_template(name)
            except jinja2.TemplateNotFound as err:
                raise TemplateError("no such template", template=name) from err
            self._compiled[html, name] = found
        return found

    def _override(self, name: str, source: str, *, html: bool) -> jinja2.Template:
        if len(source) > MAX_SOURCE_CHARS:
            raise TemplateError(f"longer than {MAX_SOURCE_CHARS} characters", template=name)
        key = (html, name, source)
        with self._lock:
            found = self._overrides.get(key)
            if found is not None:
                self._overrides.move_to_end(key)
                return found
        env = self._envs[html]
        code = env.compile(source, name=f"override/{name}", filename=f"override/{name}")
        found = env.template_class.from_code(env, code, env.make_globals(None))
        with self._lock:
            self._overrides[key] = found
            if len(self._overrides) > _OVERRIDE_CACHE:
                self._overrides.popitem(last=False)
        return found

    def resolve_locale(self, shopper: str | None, merchant: str | None) -> str:
        """The shopper's locale if templates exist for it, else the merchant's default, else
        "en". Tags are matched loosely: "id-ID", "id_ID" and the legacy "in" give "id"."""
        for tag in (shopper, merchant):
            found = _match_locale(tag, self._locales)
            if found:
                return found
        return "en"

    def source(self, trigger: str, channel: str, locale: str) -> str:
        """The default template source (what a merchant starts editing from)."""
        name = template_name(trigger, channel, locale)
        if not (self.root / name).is_file():
            raise TemplateError("no such template", template=name)
        return (self.root / name).read_text(encoding="utf-8")

    def available(self) -> list[tuple[str, str, str]]:
        """Every default template as (trigger, channel, locale), sorted."""
        return list(self._available)

    def _scan(self) -> list[tuple[str, str, str]]:
        found = []
        for path in self.root.glob("*/*.*.j2"):
            channel, locale = path.name.removesuffix(".j2").split(".", 1)
            if path.parent.name in TRIGGERS and channel in CHANNELS:
                found.append((path.parent.name, channel, locale))
        return sorted(found)

    def validate(self, source: str, trigger: str, channel: str) -> list[TemplateProblem]:
        """Problems of a merchant's source for ``trigger``/``channel``: syntax errors, unknown
        filters, variables outside the documented set, a missing tracking link, missing email
        blocks, then errors of trial renders with the sample data and with every optional value
        missing. An empty list means the template is fine."""
        if trigger not in TRIGGERS or channel not in CHANNELS:
            return [TemplateProblem(f"unknown trigger or channel: {trigger}/{channel}")]
        if len(source) > MAX_SOURCE_CHARS:
            return [TemplateProblem(f"the template is longer than {MAX_SOURCE_CHARS} characters")]
        env = self._envs[channel == "email"]
        try:
            env.compile(source, name="override", filename="override")
        except jinja2.TemplateSyntaxError as err:
            return [TemplateProblem(f"syntax error: {err.message}", err.lineno)]
        problems = static_problems(env.parse(source), trigger, channel, env.globals)
        return problems or self._trial_renders(source, trigger, channel)

    def _trial_renders(self, source: str, trigger: str, channel: str) -> list[TemplateProblem]:
        problems, zone = [], self._sample["timezone"]
        for label, minimal in (("with the sample data", False), ("without optional values", True)):
            context = self.sample_context(trigger, "id", minimal=minimal)
            try:
                self.render(trigger, channel, "id", context, timezone=zone, override=source)
            except TemplateError as err:
                problems.append(TemplateProblem(f"{label}: {err.args[0]}", err.line))
        return problems

    def sample_context(self, trigger: str, locale: str, *, minimal: bool = False) -> dict[str, Any]:
        """A realistic context for previews and tests, from ``_sample.toml``: Toko Batik Sekar,
        Rina Wulandari, order INV/2026/11/0042 (Rp150.000), a J&T Express parcel to Jakarta.
        ``minimal`` sets every optional value to None (no ETA, no last scan, no CS contact;
        no parcel for the triggers in :data:`SHIPMENT_OPTIONAL`)."""
        data, spec = self._sample, self._sample["triggers"].get(trigger)
        if spec is None:
            raise TemplateError(f"no sample data for trigger {trigger!r}", template=SAMPLE_FILE)
        refund = spec.get("refund")
        context = {
            **fields("feedback_url", "delay", "return", "refund"),
            "trigger": trigger,
            "channel": "email",
            "locale": locale,
            "shop": dict(data["shop"]),
            "customer": dict(data["customer"]),
            "order": {**data["order"], "total": Decimal(data["order"]["total"])},
            "shipment": _sample_shipment(data["shipment"], spec, locale),
            "unsubscribe_url": data["unsubscribe_url"],
        }
        if trigger == "feedback_request":
            context["feedback_url"] = data["feedback_url"]
        if "delay" in spec:
            context["delay"] = {"kind": spec["delay"]}
        if "return" in spec:
            context["return"] = {"status": spec["return"]}
        if refund:
            context["refund"] = {**refund, "amount": Decimal(refund["amount"])}
        if minimal:
            _blank(context, data["optional"] + (["shipment"] * (trigger in SHIPMENT_OPTIONAL)))
        return context

    @cached_property
    def _sample(self) -> dict[str, Any]:
        with (self.root / SAMPLE_FILE).open("rb") as file:
            return tomllib.load(file)


# --- rendering helpers ---------------------------------------------------------------------


def _run(template: jinja2.Template, variables: dict[str, Any], block: str | None = None) -> str:
    """Render the whole template or one block. ``variables`` already holds the globals, so
    the context shares it instead of copying (Template.render copies it through a ChainMap)."""
    render = template.root_render_func if block is None else template.blocks.get(block)
    if render is None:
        raise TemplateError(
            f"email template has no {{% block {block} %}}", template=template.name or ""
        )
    budget = BUDGET.get()
    parts: list[str] = []
    try:
        pieces = render(template.new_context(variables, shared=True))
        if budget is None:
            return "".join(pieces)
        # Counted while it is generated, a batch at a time (the list and the sum run in C):
        # a runaway output stops within one batch of the limit.
        while batch := list(islice(pieces, CLOCK_EVERY)):
            budget.emit(sum(map(len, batch)))
            parts += batch
    except Exception:
        template.environment.handle_exception()  # re-raises with template file names and lines
    return "".join(parts)


def _tidy(text: str) -> str:
    """Strip trailing spaces and surrounding blank lines; keep at most one blank line."""
    if "\n" in text:
        text = _BLANK_RUNS.sub("\n\n", _TRAILING_SPACE.sub("\n", text))
    return text.strip()


@lru_cache(maxsize=512)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _match_locale(tag: str | None, locales: frozenset[str]) -> str | None:
    if not tag:
        return None
    by_lower = {locale.lower(): locale for locale in locales}
    normal = tag.strip().replace("_", "-").lower()
    language = normal.split("-")[0]
    return by_lower.get(normal) or by_lower.get({"in": "id"}.get(language, language))


def _template_error(err: Exception, name: str, root: Path) -> TemplateError:
    """A readable TemplateError for anything a template, the sandbox or a filter raised."""
    if isinstance(err, jinja2.TemplateSyntaxError):
        shown = err.name or name
        return TemplateError(f"syntax error: {err.message}", template=shown, line=err.lineno)
    if isinstance(err, SecurityError):
        reason = f"not allowed in a template: {err}"
    elif isinstance(err, RenderLimit):
        reason = f"render stopped: {err}"
    elif isinstance(err, RecursionError):
        reason = "render stopped: recursion too deep"
    elif isinstance(err, jinja2.UndefinedError):
        reason = f"undefined value: {err.message}"
    else:
        reason = f"{type(err).__name__}: {err}"
    where, line = _template_frame(err.__traceback__, root)
    return TemplateError(reason, template=where or name, line=line)


def _template_frame(tb: TracebackType | None, root: Path) -> tuple[str | None, int | None]:
    """The innermost template (relative to ``root``) and line of a traceback rewritten by
    Jinja, whose frames carry the template's file name and line."""
    where: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            path = Path(filename)
            shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else filename
            where = (shown, tb.tb_lineno)
        tb = tb.tb_next
    return where


# --- sample helpers ------------------------------------------------------------------------


def _sample_shipment(base: dict[str, Any], spec: dict[str, Any], locale: str) -> Any:
    if not spec.get("shipment", True):
        return None
    event = spec["event"]
    return {
        **base,
        "status": spec["status"],
        "eta": spec.get("eta", base["eta"]),
        "previous_eta": spec.get("previous_eta"),
        "last_event": {
            "description": event.get(locale.split("-")[0]) or event["en"],
            **{key: event[key] for key in ("location", "time")},
        },
    }


def _blank(context: dict[str, Any], paths: list[str]) -> None:
    """Set each dotted path to None, skipping paths under a value that is already None."""
    for path in paths:
        *parents, leaf = path.split(".")
        target: Any = context
        for key in parents:
            target = target[key] if target is not None else None
        if target is not None:
            target[leaf] = None
