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

The documented variable set per trigger (what :meth:`Templates.validate` accepts) is
``trigger, channel, locale, shop, customer, order, shipment`` for every trigger, plus:

* ``delayed``: ``delay``;  ``feedback_request``: ``feedback_url``;
* ``return_update``: ``return``;  ``refund_update``: ``refund``;
* on the email channel: ``unsubscribe_url``.

``shipment`` may be None only for ``order_confirmed``, ``return_update`` and ``refund_update``
(:data:`SHIPMENT_OPTIONAL`); every other trigger's template must contain the tracking link.
Filters (see :mod:`notifier.formatting`): ``date``, ``short_date``, ``datetime``, ``time``,
``money``, ``status_label``, ``return_label``, ``refund_label``, ``phone``, ``wa_link``.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from notifier.errors import TemplateError
from notifier.formatting import RENDER_KEY, RenderLocale, register
from notifier.paths import data_dir
from notifier.settings import CHANNELS, TRIGGERS

SHIPMENT_OPTIONAL = frozenset({"order_confirmed", "return_update", "refund_update"})
EMAIL_BLOCKS = ("subject", "text", "html")
SAMPLE_FILE = "_sample.toml"  # beside the templates: the sample shop, order and parcel
_OVERRIDE_CACHE = 256  # compiled merchant overrides kept per environment
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")

_EVENT = {"description": None, "location": None, "time": None}
_SHIPMENT = {
    **dict.fromkeys(("carrier", "carrier_name", "tracking_number", "tracking_url", "status")),
    **dict.fromkeys(("eta", "previous_eta")),
    "last_event": _EVENT,
}
_COMMON: dict[str, Any] = {
    "trigger": None,
    "channel": None,
    "locale": None,
    "shop": dict.fromkeys(("name", "cs_whatsapp", "cs_email", "website")),
    "customer": dict.fromkeys(("name", "first_name")),
    "order": dict.fromkeys(("number", "total", "currency", "paid_at")),
    "shipment": _SHIPMENT,
}
_PER_TRIGGER: dict[str, dict[str, Any]] = {
    "delayed": {"delay": {"kind": None}},
    "feedback_request": {"feedback_url": None},
    "return_update": {"return": {"status": None}},
    "refund_update": {"refund": dict.fromkeys(("status", "amount", "currency"))},
}


def documented_variables(trigger: str, channel: str) -> dict[str, Any]:
    """The variables a template of ``trigger``/``channel`` may use, as a tree: a dict lists
    the attributes of an object; None marks a value (its own methods are then allowed)."""
    extra = {"unsubscribe_url": None} if channel == "email" else {}
    return {**_COMMON, **_PER_TRIGGER.get(trigger, {}), **extra}


def template_name(trigger: str, channel: str, locale: str) -> str:
    """The path of a default template below the templates folder."""
    return f"{trigger}/{channel}.{locale}.j2"


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One rendered message; ``subject`` and ``html`` are set for email only."""

    subject: str | None
    text: str
    html: str | None


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One finding of :meth:`Templates.validate`; ``line`` is 1-based when known."""

    message: str
    line: int | None = None


def _environment(loader: jinja2.BaseLoader, *, html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are compiled once; no stat() per render
    )
    register(env.filters)
    return env


class Templates:
    """Loads, caches, renders and validates message templates. Thread-safe; build one per
    process and share it (every template is compiled once)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else data_dir("message_templates")
        loader = FileSystemLoader(self.root)
        self._envs = {
            False: _environment(loader, html=False),
            True: _environment(loader, html=True),
        }
        self._compiled: dict[tuple[bool, str], jinja2.Template] = {}
        self._overrides: OrderedDict[tuple[bool, str, str], jinja2.Template] = OrderedDict()
        self._lock = threading.Lock()
        self._available = self._scan()
        self._locales = frozenset(locale for _, _, locale in self._available)

    # --- rendering -------------------------------------------------------------------------

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
        set from the arguments. Raises TemplateError on any failure."""
        name = template_name(trigger, channel, locale)
        variables = {
            **context,
            "trigger": trigger,
            "channel": channel,
            "locale": locale,
            RENDER_KEY: RenderLocale(locale, _checked_zone(timezone, name)),
        }
        if channel == "email":
            return self._render_email(name, variables, override)
        with _failures(name):
            text = self._template(name, override, html=False).render(variables)
        return RenderedMessage(subject=None, text=_tidy(text), html=None)

    def _render_email(
        self, name: str, variables: dict[str, Any], override: str | None
    ) -> RenderedMessage:
        with _failures(name):
            plain = self._template(name, override, html=False)
            subject = " ".join(_block(plain, "subject", variables).split())
            text = _tidy(_block(plain, "text", variables))
            html = self._template(name, override, html=True).render(variables).strip()
        return RenderedMessage(subject=subject, text=text, html=html)

    def _template(self, name: str, override: str | None, *, html: bool) -> jinja2.Template:
        if override is not None:
            return self._override(name, override, html=html)
        key = (html, name)
        found = self._compiled.get(key)
        if found is None:
            try:
                found = self._envs[html].get_template(name)
            except jinja2.TemplateNotFound as err:
                raise TemplateError("no such template", template=name) from err
            self._compiled[key] = found
        return found

    def _override(self, name: str, source: str, *, html: bool) -> jinja2.Template:
        key = (html, name, source)
        with self._lock:
            found = self._overrides.get(key)
            if found is not None:
                self._overrides.move_to_end(key)
                return found
        env = self._envs[html]
        filename = f"override/{name}"
        code = env.compile(source, name=filename, filename=filename)
        found = env.template_class.from_code(env, code, env.make_globals(None))
        with self._lock:
            self._overrides[key] = found
            if len(self._overrides) > _OVERRIDE_CACHE:
                self._overrides.popitem(last=False)
        return found

    # --- discovery -------------------------------------------------------------------------

    def resolve_locale(self, shopper: str | None, merchant: str | None) -> str:
        """The shopper's locale if templates exist for it, else the merchant's default, else
        "en". Tags are matched loosely: "id-ID", "id_ID" and the legacy "in" give "id"."""
        for candidate in (shopper, merchant):
            found = _match_locale(candidate, self._locales)
            if found:
                return found
        return "en"

    def source(self, trigger: str, channel: str, locale: str) -> str:
        """The default template source (what a merchant starts editing from)."""
        name = template_name(trigger, channel, locale)
        path = self.root / name
        if not path.is_file():
            raise TemplateError("no such template", template=name)
        return path.read_text(encoding="utf-8")

    def available(self) -> list[tuple[str, str, str]]:
        """Every default template as (trigger, channel, locale), sorted."""
        return list(self._available)

    def _scan(self) -> list[tuple[str, str, str]]:
        found = []
        for path in self.root.glob("*/*.*.j2"):
            trigger = path.parent.name
            channel, locale = path.name.removesuffix(".j2").split(".", 1)
            if trigger in TRIGGERS and channel in CHANNELS:
                found.append((trigger, channel, locale))
        return sorted(found)

    # --- validation ------------------------------------------------------------------------

    def validate(self, source: str, trigger: str, channel: str) -> list[TemplateProblem]:
        """Problems of a merchant's source for ``trigger``/``channel``: syntax errors, unknown
        filters, variables outside the documented set, a missing tracking link, missing email
        blocks, and errors of trial renders with the sample data and with every optional value
        missing. An empty list means the template is fine."""
        if trigger not in TRIGGERS or channel not in CHANNELS:
            return [TemplateProblem(f"unknown trigger or channel: {trigger}/{channel}")]
        env = self._envs[channel == "email"]
        try:
            env.compile(source, name="override", filename="override")
        except jinja2.TemplateSyntaxError as err:
            return [TemplateProblem(f"syntax error: {err.message}", err.lineno)]
        tree = env.parse(source)
        problems = _unknown_variables(tree, documented_variables(trigger, channel), env.globals)
        problems += _structure_problems(tree, trigger, channel)
        return problems or self._trial_renders(source, trigger, channel)

    def _trial_renders(self, source: str, trigger: str, channel: str) -> list[TemplateProblem]:
        problems = []
        zone = self._sample["timezone"]
        for label, minimal in (("with the sample data", False), ("without optional values", True)):
            context = self.sample_context(trigger, "id", minimal=minimal)
            try:
                self.render(trigger, channel, "id", context, timezone=zone, override=source)
            except TemplateError as err:
                problems.append(TemplateProblem(f"{label}: {err.args[0]}", err.line))
        return problems

    # --- sample data -----------------------------------------------------------------------

    def sample_context(self, trigger: str, locale: str, *, minimal: bool = False) -> dict[str, Any]:
        """A realistic context for previews and tests, from ``_sample.toml``: Toko Batik Sekar,
        Rina Wulandari, order INV/2026/11/0042 (Rp150.000), a J&T Express parcel to Jakarta.
        ``minimal`` sets every optional value to None (no ETA, no last scan, no CS contact;
        no parcel for the triggers in :data:`SHIPMENT_OPTIONAL`)."""
        data = self._sample
        spec = data["triggers"].get(trigger)
        if spec is None:
            raise TemplateError(f"no sample data for trigger {trigger!r}", template=SAMPLE_FILE)
        refund = spec.get("refund")
        context = {
            "trigger": trigger,
            "channel": "email",
            "locale": locale,
            "shop": dict(data["shop"]),
            "customer": dict(data["customer"]),
            "order": {**data["order"], "total": Decimal(data["order"]["total"])},
            "shipment": _sample_shipment(data["shipment"], spec, locale),
            "delay": {"kind": spec["delay"]} if "delay" in spec else None,
            "feedback_url": data["feedback_url"] if trigger == "feedback_request" else None,
            "return": {"status": spec["return"]} if "return" in spec else None,
            "refund": {**refund, "amount": Decimal(refund["amount"])} if refund else None,
            "unsubscribe_url": data["unsubscribe_url"],
        }
        return _without_optional(context) if minimal else context

    @cached_property
    def _sample(self) -> dict[str, Any]:
        with (self.root / SAMPLE_FILE).open("rb") as file:
            return tomllib.load(file)


# --- helpers -------------------------------------------------------------------------------


def _sample_shipment(base: dict[str, Any], spec: dict[str, Any], locale: str) -> Any:
    if not spec.get("shipment", True):
        return None
    event = spec["event"]
    description = event.get(locale.split("-")[0]) or event["en"]
    return {
        **base,
        "status": spec["status"],
        "eta": spec.get("eta", base["eta"]),
        "previous_eta": spec.get("previous_eta"),
        "last_event": {
            "description": description,
            "location": event["location"],
            "time": event["time"],
        },
    }


def _without_optional(context: dict[str, Any]) -> dict[str, Any]:
    """The context with every optional value None, as when a shop or carrier tells us little."""
    shop = {**context["shop"], "cs_whatsapp": None, "cs_email": None, "website": None}
    order = {**context["order"], "total": None, "currency": None, "paid_at": None}
    shipment = context["shipment"]
    if context["trigger"] in SHIPMENT_OPTIONAL:
        shipment = None
    elif shipment is not None:
        shipment = {**shipment, "eta": None, "previous_eta": None, "last_event": None}
    refund = context["refund"] and {**context["refund"], "amount": None, "currency": None}
    return {
        **context,
        "shop": shop,
        "order": order,
        "shipment": shipment,
        "feedback_url": None,
        "refund": refund,
        "unsubscribe_url": None,
    }


def _block(template: jinja2.Template, block: str, variables: dict[str, Any]) -> str:
    render = template.blocks.get(block)
    if render is None:
        raise TemplateError(
            f"email template has no {{% block {block} %}}", template=template.name or ""
        )
    return "".join(render(template.new_context(variables)))


def _tidy(text: str) -> str:
    """Strip trailing spaces and surrounding blank lines; keep at most one blank line."""
    return _BLANK_RUNS.sub("\n\n", _TRAILING_SPACE.sub("\n", text)).strip()


def _checked_zone(timezone: str, name: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise TemplateError(f"unknown time zone {timezone!r}", template=name) from err
    return timezone


def _match_locale(tag: str | None, locales: frozenset[str]) -> str | None:
    if not tag:
        return None
    by_lower = {locale.lower(): locale for locale in locales}
    normal = tag.strip().replace("_", "-").lower()
    language = {"in": "id"}.get(normal.split("-")[0], normal.split("-")[0])
    return by_lower.get(normal) or by_lower.get(language)


@contextmanager
def _failures(name: str) -> Iterator[None]:
    """Turn anything a template or filter raises into a TemplateError naming where."""
    try:
        yield
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(f"syntax error: {err.message}", template=name, line=err.lineno) from err
    except Exception as err:  # a template is untrusted code: any failure fails this message only
        where, line = _template_frame(err.__traceback__)
        raise TemplateError(_reason(err), template=where or name, line=line) from err


def _reason(err: Exception) -> str:
    if isinstance(err, SecurityError):
        return f"not allowed in a template: {err}"
    if isinstance(err, jinja2.UndefinedError):
        return f"undefined value: {err.message}"
    if isinstance(err, jinja2.TemplateError):
        return str(err.message)
    return f"{type(err).__name__}: {err}"


def _template_frame(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """The innermost template file and line of a traceback (Jinja rewrites its frames so
    that they carry the template's file name and line)."""
    where: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2") or filename == "override":
            where = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


def _unknown_variables(
    tree: nodes.Template, documented: dict[str, Any], env_globals: Mapping[str, Any]
) -> list[TemplateProblem]:
    roots = meta.find_undeclared_variables(tree) - set(env_globals)
    found: dict[tuple[str, int], None] = {}
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name in roots and name.name not in documented:
            found.setdefault((name.name, name.lineno))
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        path = _attribute_path(node)
        if path and path[0] in roots and path[0] in documented:
            unknown = _first_unknown(documented, path)
            if unknown:
                found.setdefault((unknown, node.lineno))
    return [
        TemplateProblem(f"unknown variable '{dotted}'", line)
        for dotted, line in sorted(found, key=lambda item: (item[1], item[0]))
    ]


def _attribute_path(node: nodes.Node) -> list[str] | None:
    """``shipment.last_event.location`` as ["shipment", "last_event", "location"]."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    return [node.name, *reversed(parts)] if isinstance(node, nodes.Name) else None


def _first_unknown(documented: dict[str, Any], path: list[str]) -> str | None:
    level: Any = documented
    for depth, part in enumerate(path):
        if not isinstance(level, dict):
            return None  # a value: its own methods (e.g. .upper()) are the sandbox's business
        if part not in level:
            return ".".join(path[: depth + 1])
        level = level[part]
    return None


def _uses(tree: nodes.Node, path: list[str]) -> bool:
    return any(_attribute_path(node) == path for node in tree.find_all(nodes.Getattr))


def _structure_problems(tree: nodes.Template, trigger: str, channel: str) -> list[TemplateProblem]:
    problems = []
    link = ["shipment", "tracking_url"]
    blocks = {block.name: block for block in tree.find_all(nodes.Block)}
    if channel == "email":
        for name in EMAIL_BLOCKS:
            if name not in blocks:
                problems.append(TemplateProblem(f"email template needs {{% block {name} %}}"))
    if trigger in SHIPMENT_OPTIONAL:
        return problems
    if channel == "email":
        for name in ("text", "html"):
            if name in blocks and not _uses(blocks[name], link):
                problems.append(
                    TemplateProblem(f"the {name} block has no tracking link", blocks[name].lineno)
                )
    elif not _uses(tree, link):
        problems.append(TemplateProblem("the message has no tracking link (shipment.tracking_url)"))
    return problems
