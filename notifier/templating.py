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

Runaway renders. A merchant's template is untrusted code run by the dispatcher, so one render is
cut off with a TemplateError ("render stopped: ...") rather than hanging a worker or eating its
memory (:class:`RenderLimits`, defaults below): ``range()`` gives at most :data:`MAX_RANGE`
items; all loops of one render together run at most :data:`MAX_ITERATIONS` iterations; calls
(macros, ``caller()``, recursive loops) nest at most :data:`MAX_CALL_DEPTH` deep; the text a
render yields is counted while it is generated (:data:`MAX_OUTPUT_CHARS`), and so is the text
built at every level, macros and ``{% set %}`` blocks included (:data:`MAX_PRODUCED_CHARS`);
and a wall-clock budget (:data:`RENDER_SECONDS`) is checked at every loop iteration, call,
operator and piece of output. Operations that can build a huge value in one step are checked
before they run: ``*``, ``**``, ``+`` and ``%`` on strings, lists and numbers, string methods
(``ljust``, ``replace``, ``join``, ``format``...), the filters ``center``, ``indent``,
``format``, ``replace``, ``join``, ``slice``, ``batch``, ``tojson``, ``wordwrap``, ``sum`` and
the ``lipsum`` global. Names starting with ``_`` (``''.__class__``, ``cycler.__init__``,
``self._TemplateReference__context``, ``lipsum.__globals__``) are refused by the sandbox at
render time and reported by :meth:`Templates.validate` with their line.
"""

from __future__ import annotations

import functools
import re
import string
import threading
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from itertools import islice
from pathlib import Path
from types import BuiltinMethodType, FunctionType, MethodType, TracebackType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined, meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from notifier.errors import TemplateError
from notifier.formatting import RENDER_KEY, RenderLocale, register
from notifier.paths import data_dir
from notifier.settings import CHANNELS, TRIGGERS

SHIPMENT_OPTIONAL = frozenset({"order_confirmed", "return_update", "refund_update"})
EMAIL_BLOCKS = ("subject", "text", "html")
SAMPLE_FILE = "_sample.toml"  # beside the templates: the sample shop, order and parcel
_OVERRIDE_CACHE = 256  # compiled merchant overrides kept
MAX_SOURCE_CHARS = 65_536  # a merchant's template source
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def _fields(*names: str) -> dict[str, Any]:
    return dict.fromkeys(names)


_COMMON: dict[str, Any] = {
    **_fields("trigger", "channel", "locale"),
    "shop": _fields("name", "cs_whatsapp", "cs_email", "website"),
    "customer": _fields("name", "first_name"),
    "order": _fields("number", "total", "currency", "paid_at"),
    "shipment": {
        **_fields("carrier", "carrier_name", "tracking_number", "tracking_url", "status"),
        **_fields("carrier_url"),  # the carrier's own tracking page, when it has one
        **_fields("eta", "previous_eta"),
        "last_event": _fields("description", "location", "time"),
    },
}
_PER_TRIGGER: dict[str, dict[str, Any]] = {
    "delayed": {"delay": _fields("kind")},
    "feedback_request": _fields("feedback_url"),
    "return_update": {"return": _fields("status")},
    "refund_update": {"refund": _fields("status", "amount", "currency")},
    "parcel_digest": {"digest": _fields("trigger", "count", "parcels")},
}


def documented_variables(trigger: str, channel: str) -> dict[str, Any]:
    """The variables a template of ``trigger``/``channel`` may use, as a tree: a dict lists
    the attributes of an object; None marks a value (its own methods are then allowed)."""
    extra = _fields("unsubscribe_url") if channel == "email" else {}
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


# --- runaway renders ------------------------------------------------------------------------

RENDER_SECONDS = 10.0  # s of wall time for one message: a backstop behind the step and size
# limits, which stop runaway templates deterministically; a normal render takes about 1 ms
MAX_OUTPUT_CHARS = 262_144  # text one message renders to, all parts (Gmail clips at ~100 KB)
MAX_PRODUCED_CHARS = 4 * MAX_OUTPUT_CHARS  # text built at every level: macros, set blocks
MAX_VALUE_CHARS = MAX_OUTPUT_CHARS  # one string or list built by a template
MAX_RANGE = 10_000  # items of one range()
MAX_ITERATIONS = 100_000  # loop iterations of one render, all loops together
MAX_CALL_DEPTH = 64  # nested calls: macros, caller(), recursive loops
MAX_INT_BITS = 4096  # integers a template computes (about 1,233 decimal digits)
MAX_JSON_INDENT = 16  # tojson(indent=...)
MAX_WRAPSTRING = 16  # wordwrap(wrapstring=...) characters
MAX_LIPSUM = 20  # lipsum() paragraphs; 200 words each at most


class RenderLimit(Exception):
    """A render went past one of its :class:`RenderLimits`; becomes a TemplateError."""


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """What one message render may use (see the module docstring); tests lower them."""

    seconds: float = RENDER_SECONDS
    output_chars: int = MAX_OUTPUT_CHARS
    produced_chars: int = MAX_PRODUCED_CHARS
    value_chars: int = MAX_VALUE_CHARS
    range_items: int = MAX_RANGE
    iterations: int = MAX_ITERATIONS
    call_depth: int = MAX_CALL_DEPTH
    int_bits: int = MAX_INT_BITS


_CLOCK_EVERY = 16  # loop iterations, or pieces of output, between looks at the clock


class _Budget:
    """What the render in progress has used; set in :data:`_BUDGET` by Templates.render.

    The clock is read at every call (macros, methods), operator, every :data:`_CLOCK_EVERY`
    loop iterations and every batch of output: whatever runs long goes through one of those.
    """

    __slots__ = ("deadline", "depth", "iterations", "limits", "output", "produced")

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.iterations = self.produced = self.output = self.depth = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"took longer than {self.limits.seconds:g} s")

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.iterations:
            raise RenderLimit(f"loops ran more than {self.limits.iterations} times")
        if not self.iterations % _CLOCK_EVERY:
            self.tick()

    def produce(self, chars: int) -> None:
        """Text built inside a macro, set block, filter block or call block."""
        self.produced += chars
        if self.produced > self.limits.produced_chars:
            raise RenderLimit(f"built more than {self.limits.produced_chars} characters")

    def emit(self, chars: int) -> None:
        """Text the render has yielded (counted by :func:`_run`)."""
        self.output += chars
        if self.output > self.limits.output_chars:
            raise RenderLimit(f"output longer than {self.limits.output_chars} characters")
        self.tick()


_BUDGET: ContextVar[_Budget | None] = ContextVar("notifier_render_budget", default=None)


class _Guarded:
    """A loop's iterable, counting each iteration against the render's budget. Sized when the
    iterable is, so ``loop.length`` does not consume it."""

    __slots__ = ("_budget", "_items", "_source")

    def __init__(self, source: Iterable[Any], budget: _Budget | None) -> None:
        self._source, self._items, self._budget = source, iter(source), budget

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        if self._budget is not None:
            self._budget.iterate()
        return item

    def __len__(self) -> int:
        return len(self._source)  # type: ignore[arg-type]  # TypeError: LoopContext copes


class _GuardTree(NodeTransformer):
    """Rewrites a parsed template: every loop iterates ``environment.guard_iter(...)`` and
    every ``~`` concatenation passes through ``environment.bounded(...)``."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _env_call("guard_iter", node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _env_call("bounded", node)


def _env_call(method: str, arg: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(method), [arg], [], None, None)
    call.set_lineno(arg.lineno)
    return call


class _CountingCodeGenerator(CodeGenerator):
    """Passes every piece of text built into a buffer (macros, set, filter and call blocks)
    through ``environment.produced``, so the budget sees it grow; text yielded at the top
    level is counted by :func:`_run` as it is generated."""

    _buffered = False  # whether the Output node being written goes into a buffer

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        self._buffered = frame.buffer is not None
        super().visit_Output(node, frame)

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        text = super()._output_const_repr(group)
        return f"environment.produced({text})" if self._buffered else text

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.buffer is not None:
            self.write("environment.produced(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        if frame.buffer is not None:
            self.write(")")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, reading dict keys before attributes, with runaway guards.

    Context objects are plain dicts, so ``shipment.eta`` is a key lookup; trying the attribute
    first (Jinja's order) costs an AttributeError per access on the render hot path. Reading a
    dict's own key is what ``shipment["eta"]`` does in the sandbox anyway, so this grants
    nothing new; everything else still goes through the sandbox's checks.

    The guards (module docstring) hook the sandbox's documented interception points: ``call``
    (every call a template makes), ``call_binop`` (``intercepted_binops``), the code generator
    (``code_generator_class``) and the parsed tree.
    """

    code_generator_class = _CountingCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    limits = RenderLimits()

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _GuardTree().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        args = _check_call(obj, args, kwargs, self.limits)
        budget = _BUDGET.get()
        if budget is None:
            return super().call(context, obj, *args, **kwargs)
        budget.tick()
        if budget.depth >= self.limits.call_depth:
            raise RenderLimit(f"calls nested more than {self.limits.call_depth} deep")
        budget.depth += 1
        try:
            return super().call(context, obj, *args, **kwargs)
        finally:
            budget.depth -= 1

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right, self.limits)
        budget = _BUDGET.get()
        if budget is not None:
            budget.tick()
        return self.bounded(super().call_binop(context, operator, left, right))

    def guard_iter(self, iterable: Iterable[Any]) -> _Guarded:
        return _Guarded(iterable, _BUDGET.get())

    def produced(self, text: str) -> str:
        budget = _BUDGET.get()
        if budget is not None:  # inlined Budget.produce: this runs for every buffered piece
            budget.produced += len(text)
            if budget.produced > budget.limits.produced_chars:
                budget.produce(0)  # raises
        return text

    def bounded(self, value: Any) -> Any:
        """``value`` if it is within the size limits, else RenderLimit."""
        limits = self.limits
        if isinstance(value, str | list | tuple) and len(value) > limits.value_chars:
            raise RenderLimit(f"a value longer than {limits.value_chars} characters or items")
        if type(value) is int and value.bit_length() > limits.int_bits:
            raise RenderLimit(f"a number larger than {limits.int_bits} bits")
        if (
            isinstance(value, Decimal)
            and value.is_finite()
            and _digits(value) > _max_digits(limits)
        ):
            raise RenderLimit(f"a number with more than {_max_digits(limits)} digits")
        return value


def _environment(loader: jinja2.BaseLoader, *, html: bool, limits: RenderLimits) -> _Sandbox:
    env = _Sandbox(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are compiled once; no stat() per render
    )
    env.limits = limits
    register(env.filters)
    _guard_filters(env)
    env.globals["range"] = functools.partial(_range, limits.range_items)
    env.globals["lipsum"] = _lipsum
    return env


# --- runaway checks: each refuses, before it runs, an operation that would build too much ----


def _max_digits(limits: RenderLimits) -> int:
    return limits.int_bits * 30103 // 100000  # log10(2) = 0.30103


def _digits(value: Decimal) -> int:
    return abs(value.adjusted()) + 1


def _range(limit: int, *args: int) -> range:
    items = range(*args)
    try:
        size = len(items)
    except OverflowError:  # more items than sys.maxsize
        size = limit + 1
    if size > limit:
        raise RenderLimit(f"range() of more than {limit} items")
    return items


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if n > MAX_LIPSUM or max > 200:
        raise RenderLimit(f"lipsum() is limited to {MAX_LIPSUM} paragraphs of 200 words")
    return generate_lorem_ipsum(n, html, min, max)


def _too_big(what: str, size: int, limit: int, unit: str = "characters") -> None:
    if size > limit:
        raise RenderLimit(f"{what} would exceed {limit} {unit}")


def _check_binop(operator: str, left: Any, right: Any, limits: RenderLimits) -> None:
    if operator == "*":
        _check_repeat(left, right, limits)
        _check_repeat(right, left, limits)
        if _is_int(left) and _is_int(right):
            bits = left.bit_length() + right.bit_length()
            _too_big("a product", bits, limits.int_bits, "bits")
    elif operator == "**":
        _check_power(left, right, limits)
    elif operator == "+" and isinstance(left, str | list | tuple) and hasattr(right, "__len__"):
        _too_big("a concatenation", len(left) + len(right), limits.value_chars)
    elif operator == "%" and isinstance(left, str):
        _check_printf(left, limits)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_repeat(seq: Any, times: Any, limits: RenderLimits) -> None:
    if isinstance(seq, str | list | tuple) and _is_int(times):
        _too_big("a repeated value", len(seq) * times, limits.value_chars)


def _check_power(base: Any, exponent: Any, limits: RenderLimits) -> None:
    if not _is_int(exponent) or exponent <= 1:
        return
    if _is_int(base) and abs(base) > 1:
        _too_big("a power", base.bit_length() * exponent, limits.int_bits, "bits")
    elif isinstance(base, Decimal) and base.is_finite() and abs(base) > 1:
        _too_big("a power", _digits(base) * exponent, _max_digits(limits), "digits")


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGIT_RUN = re.compile(r"\d+")


def _check_printf(fmt: str, limits: RenderLimits) -> None:
    """``%`` formatting: widths and precisions within the value limit, none taken from args."""
    for width, precision in _PRINTF_FIELD.findall(fmt):
        for number in (width, precision):
            if number == "*":
                raise RenderLimit("'*' widths are not allowed in % formatting")
            if number:
                _too_big("a formatted field", int(number), limits.value_chars)


def _check_format(fmt: str, limits: RenderLimits) -> None:
    """``str.format``: widths within the value limit, no nested fields in format specs."""
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and "{" in spec:
            raise RenderLimit("nested fields in a format spec are not allowed")
        for number in _DIGIT_RUN.findall(spec or ""):
            _too_big("a formatted field", int(number), limits.value_chars)


def _check_call(
    obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any], limits: RenderLimits
) -> tuple[Any, ...]:
    """Checks a call to a method of a string, bytes or int; returns the arguments to use
    (an iterator given to ``join`` is read into a list to be measured)."""
    kind = type(obj)
    if kind is FunctionType:  # the sandbox wraps str.format in a function
        obj = getattr(obj, "__wrapped__", None)
        kind = type(obj)
    if kind is not BuiltinMethodType and kind is not MethodType:
        return args  # macros, caller(), filters, our own helpers: nothing to check
    method = obj
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str | bytes | int):
        return args
    name = getattr(method, "__name__", "")
    if name in ("format", "format_map") and isinstance(owner, str):
        _check_format(owner, limits)
        return args
    for value in (*args, *kwargs.values()):
        if _is_int(value) and abs(value) > limits.value_chars:
            raise RenderLimit(f"{name}() argument {value} is too large")
    if name == "join" and args and isinstance(owner, str):
        items = list(args[0])
        _too_big("a join", _joined_length(owner, items), limits.value_chars)
        return (items, *args[1:])
    if name == "replace" and len(args) >= 2 and isinstance(owner, str):
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1, limits)
    if name == "expandtabs" and isinstance(owner, str):
        tab = args[0] if args else kwargs.get("tabsize", 8)
        _too_big("expandtabs()", len(owner) + owner.count("\t") * int(tab), limits.value_chars)
    return args


def _joined_length(separator: str, items: list[Any]) -> int:
    return sum(len(str(item)) for item in items) + len(separator) * max(len(items) - 1, 0)


def _check_replace(text: Any, old: Any, new: Any, count: Any, limits: RenderLimits) -> None:
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if _is_int(count) and count >= 0:
        found = min(found, count)
    _too_big("a replace()", len(text) + found * (len(new) - len(old)), limits.value_chars)


# Filter name -> check(limits, value, *args, **kwargs), run before the filter itself.
_FilterCheck = Callable[..., None]


def _width_check(limits: RenderLimits, value: Any, width: Any = 80, *_: Any, **kw: Any) -> None:
    if _is_int(kw.get("width", width)):
        _too_big("center()", int(kw.get("width", width)), limits.value_chars)


def _indent_check(limits: RenderLimits, value: Any, width: Any = 4, *_: Any, **kw: Any) -> None:
    width = kw.get("width", width)
    pad = len(width) if isinstance(width, str) else width if _is_int(width) else 0
    text = str(value)
    _too_big("indent()", len(text) + (text.count("\n") + 1) * pad, limits.value_chars)


def _format_check(limits: RenderLimits, value: Any, *_: Any, **__: Any) -> None:
    _check_printf(str(value), limits)


def _replace_check(
    limits: RenderLimits, value: Any, old: Any = "", new: Any = "", count: Any = None, **_: Any
) -> None:
    _check_replace(value, old, new, count, limits)


def _count_check(name: str, key: str) -> _FilterCheck:
    def check(limits: RenderLimits, value: Any, count: Any = 1, *_: Any, **kw: Any) -> None:
        if _is_int(kw.get(key, count)):
            _too_big(f"{name}()", int(kw.get(key, count)), limits.range_items, "items")

    return check


def _tojson_check(limits: RenderLimits, value: Any, indent: Any = None, **_: Any) -> None:
    if _is_int(indent) and indent > MAX_JSON_INDENT:
        raise RenderLimit(f"tojson() indent is limited to {MAX_JSON_INDENT}")


def _wordwrap_check(limits: RenderLimits, value: Any, *args: Any, **kw: Any) -> None:
    wrap = kw.get("wrapstring", args[2] if len(args) > 2 else None)
    if wrap is not None and len(str(wrap)) > MAX_WRAPSTRING:
        raise RenderLimit(f"wordwrap() wrapstring is limited to {MAX_WRAPSTRING} characters")


def _sum_check(limits: RenderLimits, value: Any, *args: Any, **kw: Any) -> None:
    start = kw.get("start", args[1] if len(args) > 1 else 0)
    if not isinstance(start, int | float | Decimal):
        raise RenderLimit("sum() adds numbers only")


_FILTER_CHECKS: dict[str, _FilterCheck] = {
    "center": _width_check,
    "indent": _indent_check,
    "format": _format_check,
    "replace": _replace_check,
    "slice": _count_check("slice", "slices"),
    "batch": _count_check("batch", "linecount"),
    "tojson": _tojson_check,
    "wordwrap": _wordwrap_check,
    "sum": _sum_check,
}


def _guard_filters(env: _Sandbox) -> None:
    """Wraps the filters that can build a huge value in one step with their checks."""
    for name, check in _FILTER_CHECKS.items():
        env.filters[name] = _checked(env.filters[name], check, env.limits)
    env.filters["join"] = _checked_join(env.filters["join"], env.limits)


def _checked(func: Callable[..., Any], check: _FilterCheck, limits: RenderLimits) -> Any:
    skip = 1 if getattr(func, "jinja_pass_arg", None) else 0  # context/eval_ctx/environment

    @functools.wraps(func)  # keeps jinja_pass_arg
    def run(*args: Any, **kwargs: Any) -> Any:
        check(limits, *args[skip:], **kwargs)
        return func(*args, **kwargs)

    return run


def _checked_join(func: Callable[..., Any], limits: RenderLimits) -> Any:
    @functools.wraps(func)  # pass_eval_context
    def run(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        shown = items
        if attribute is not None:
            shown = [make_attrgetter(eval_ctx.environment, attribute)(item) for item in items]
        _too_big("join()", _joined_length(str(d), shown), limits.value_chars)
        return func(eval_ctx, items, d, attribute)

    return run


class Templates:
    """Loads, caches, renders and validates message templates. Thread-safe; build one per
    process and share it (every template is compiled once). ``limits`` bound each render."""

    def __init__(self, root: Path | None = None, *, limits: RenderLimits | None = None) -> None:
        self.root = root if root is not None else data_dir("message_templates")
        self.limits = limits or RenderLimits()
        loader = FileSystemLoader(self.root)
        self._envs = {
            flag: _environment(loader, html=flag, limits=self.limits) for flag in (False, True)
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
        budget = _BUDGET.set(_Budget(self.limits))
        try:
            if html:
                return self._email(name, variables, override)
            text = _run(self._template(name, override, html=False), variables)
        except TemplateError:
            raise
        except Exception as err:  # a template is untrusted code: any failure fails this message
            raise _template_error(err, name, self.root) from err
        finally:
            _BUDGET.reset(budget)
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
        tree = env.parse(source)
        problems = _private_names(tree)
        problems += _unknown_variables(tree, documented_variables(trigger, channel), env.globals)
        problems += _structure_problems(tree, trigger, channel)
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
            **_fields("feedback_url", "delay", "return", "refund"),
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
    budget = _BUDGET.get()
    parts: list[str] = []
    try:
        pieces = render(template.new_context(variables, shared=True))
        if budget is None:
            return "".join(pieces)
        # Counted while it is generated, a batch at a time (the list and the sum run in C):
        # a runaway output stops within one batch of the limit.
        while batch := list(islice(pieces, _CLOCK_EVERY)):
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


# --- validation helpers --------------------------------------------------------------------


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
        unknown = path and path[0] in roots and _first_unknown(documented, path)
        if unknown:
            found.setdefault((unknown, node.lineno))
    ordered = sorted(found, key=lambda item: (item[1], item[0]))
    return [TemplateProblem(f"unknown variable '{dotted}'", line) for dotted, line in ordered]


def _private_names(tree: nodes.Template) -> list[TemplateProblem]:
    """``x.__class__``, ``x._secret``, ``x["__globals__"]``: the sandbox refuses them at render
    time; report them at once with their line."""
    found = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value if isinstance(node.arg.value, str) else None
        if name and name.startswith("_"):
            found.append(
                TemplateProblem(
                    f"'{name}' is not allowed: names starting with '_' reach Python internals",
                    node.lineno,
                )
            )
    return found


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


def _uses_link(tree: nodes.Node) -> bool:
    paths = (_attribute_path(node) for node in tree.find_all(nodes.Getattr))
    return ["shipment", "tracking_url"] in paths


def _structure_problems(tree: nodes.Template, trigger: str, channel: str) -> list[TemplateProblem]:
    blocks = {block.name: block for block in tree.find_all(nodes.Block)}
    problems = []
    if channel == "email":
        missing = [name for name in EMAIL_BLOCKS if name not in blocks]
        problems += [
            TemplateProblem(f"email template needs {{% block {name} %}}") for name in missing
        ]
    if trigger in SHIPMENT_OPTIONAL:
        return problems
    if channel != "email" and not _uses_link(tree):
        problems.append(TemplateProblem("the message has no tracking link (shipment.tracking_url)"))
    for name in ("text", "html") if channel == "email" else ():
        if name in blocks and not _uses_link(blocks[name]):
            problems.append(
                TemplateProblem(f"the {name} block has no tracking link", blocks[name].lineno)
            )
    return problems
