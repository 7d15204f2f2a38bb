"""The sandbox templates render in: untrusted merchant code, cut off before it runs away.

A merchant's template is untrusted code run by the dispatcher, so one render is
cut off with a TemplateError ("render stopped: ...") rather than hanging a worker or eating its
memory (:class:`~notifier.render_limits.RenderLimits`, defaults there): ``range()`` gives at
most :data:`MAX_RANGE` items; all loops of one render together run at most
:data:`MAX_ITERATIONS` iterations; calls
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
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

import jinja2
from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from notifier.formatting import register
from notifier.render_limits import (
    RenderLimit,
    RenderLimits,
    bounded_range,
    check_binop,
    check_call,
    digits,
    guard_filters,
    lipsum,
    max_digits,
)

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
        args = check_call(obj, args, kwargs, self.limits)
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
        check_binop(operator, left, right, self.limits)
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
        if isinstance(value, Decimal) and value.is_finite() and digits(value) > max_digits(limits):
            raise RenderLimit(f"a number with more than {max_digits(limits)} digits")
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
    guard_filters(env, limits)
    env.globals["range"] = functools.partial(bounded_range, limits.range_items)
    env.globals["lipsum"] = lipsum
    return env
