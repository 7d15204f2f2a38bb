"""The sandbox templates render in: untrusted merchant code, cut off before it runs away.

A merchant's template is untrusted code run by the dispatcher, so one render is
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
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from types import BuiltinMethodType, FunctionType, MethodType
from typing import Any

import jinja2
from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from notifier.formatting import register

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


CLOCK_EVERY = 16  # loop iterations, or pieces of output, between looks at the clock


class Budget:
    """What the render in progress has used; set in :data:`BUDGET` by Templates.render.

    The clock is read at every call (macros, methods), operator, every :data:`CLOCK_EVERY`
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
        if not self.iterations % CLOCK_EVERY:
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


BUDGET: ContextVar[Budget | None] = ContextVar("notifier_render_budget", default=None)


class _Guarded:
    """A loop's iterable, counting each iteration against the render's budget. Sized when the
    iterable is, so ``loop.length`` does not consume it."""

    __slots__ = ("_budget", "_items", "_source")

    def __init__(self, source: Iterable[Any], budget: Budget | None) -> None:
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
        budget = BUDGET.get()
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
        budget = BUDGET.get()
        if budget is not None:
            budget.tick()
        return self.bounded(super().call_binop(context, operator, left, right))

    def guard_iter(self, iterable: Iterable[Any]) -> _Guarded:
        return _Guarded(iterable, BUDGET.get())

    def produced(self, text: str) -> str:
        budget = BUDGET.get()
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


def environment(loader: jinja2.BaseLoader, *, html: bool, limits: RenderLimits) -> _Sandbox:
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
