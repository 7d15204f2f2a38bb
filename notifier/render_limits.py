"""How much one message render may use (:class:`RenderLimits`), and the checks that refuse,
before it runs, a template operation that would build too much in one step (``*``, ``**``,
``%``, string methods, ``range``, ``lipsum`` and the filters that can grow a value). The
sandbox (:mod:`notifier.sandbox`) counts the rest while the render runs."""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from types import BuiltinMethodType, FunctionType, MethodType
from typing import Any

import jinja2
from jinja2.filters import make_attrgetter
from jinja2.utils import generate_lorem_ipsum

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


def max_digits(limits: RenderLimits) -> int:
    return limits.int_bits * 30103 // 100000  # log10(2) = 0.30103


def digits(value: Decimal) -> int:
    return abs(value.adjusted()) + 1


def bounded_range(limit: int, *args: int) -> range:
    items = range(*args)
    try:
        size = len(items)
    except OverflowError:  # more items than sys.maxsize
        size = limit + 1
    if size > limit:
        raise RenderLimit(f"range() of more than {limit} items")
    return items


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if n > MAX_LIPSUM or max > 200:
        raise RenderLimit(f"lipsum() is limited to {MAX_LIPSUM} paragraphs of 200 words")
    return generate_lorem_ipsum(n, html, min, max)


def _too_big(what: str, size: int, limit: int, unit: str = "characters") -> None:
    if size > limit:
        raise RenderLimit(f"{what} would exceed {limit} {unit}")


def check_binop(operator: str, left: Any, right: Any, limits: RenderLimits) -> None:
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
        _too_big("a power", digits(base) * exponent, max_digits(limits), "digits")


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


def check_call(
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


def guard_filters(env: jinja2.Environment, limits: RenderLimits) -> None:
    """Wraps the filters that can build a huge value in one step with their checks."""
    for name, check in _FILTER_CHECKS.items():
        env.filters[name] = _checked(env.filters[name], check, limits)
    env.filters["join"] = _checked_join(env.filters["join"], limits)


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
