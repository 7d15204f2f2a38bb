"""Template safety: runaway renders are cut off with a TemplateError, Python internals are
refused, and ordinary templates still render the same."""

from __future__ import annotations

import time

import pytest
from jinja2.sandbox import SecurityError

from notifier.errors import TemplateError
from notifier.templating import MAX_RANGE, RenderLimit, RenderLimits, Templates

TZ = "Asia/Jakarta"
TEMPLATES = Templates()
QUICK = 3.0  # s: the step and size limits stop these long before the wall-clock backstop


def render(source: str, templates: Templates = TEMPLATES, channel: str = "sms") -> str:
    context = TEMPLATES.sample_context("shipped", "id")
    message = templates.render("shipped", channel, "id", context, timezone=TZ, override=source)
    return message.text


def refused(source: str, match: str, templates: Templates = TEMPLATES) -> TemplateError:
    started = time.monotonic()
    with pytest.raises(TemplateError, match=match) as caught:
        render(source, templates)
    assert time.monotonic() - started < QUICK
    return caught.value


# --- loops -------------------------------------------------------------------------------------


def test_a_huge_range_is_refused_before_it_runs() -> None:
    err = refused("{% for i in range(10**9) %}x{% endfor %}", "range")
    assert f"more than {MAX_RANGE} items" in str(err)
    assert isinstance(err.__cause__, RenderLimit) and err.line == 1


def test_a_range_beyond_sys_maxsize_is_refused() -> None:
    refused("{% for i in range(0, 2**63) %}{% endfor %}", "range")


def test_nested_loops_stop_at_the_iteration_budget() -> None:
    source = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    refused(source, "loops ran more than 100000 times")


def test_nested_loops_over_strings_count_too() -> None:
    source = "{% set s = 'x' * 1000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    refused(source, "loops ran more than")


def test_the_wall_clock_budget_stops_a_render_within_every_count_limit() -> None:
    slow = Templates(limits=RenderLimits(seconds=0.2, iterations=10**12))
    source = (
        "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"took longer than 0.2 s"):
        render(source, slow)
    assert time.monotonic() - started < 1.0


def test_exponential_macro_calls_stop_at_the_clock() -> None:
    slow = Templates(limits=RenderLimits(seconds=0.2))
    source = (
        "{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}"
        "{{ f(0) }}"
    )
    with pytest.raises(TemplateError, match="took longer than"):
        render(source, slow)


# --- recursion ---------------------------------------------------------------------------------


def test_deep_macro_recursion_is_cut_off() -> None:
    refused("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested more than 64 deep")


def test_recursive_loops_count_as_calls() -> None:
    deep = Templates(limits=RenderLimits(call_depth=3))
    source = (
        "{% for x in [[[[[1]]]]] recursive %}{% if x is iterable %}{{ loop(x) }}"
        "{% else %}{{ x }}{% endif %}{% endfor %}"
    )
    with pytest.raises(TemplateError, match="nested more than 3 deep"):
        render(source, deep)
    assert render(source) == "1"


# --- output and values -------------------------------------------------------------------------


def test_huge_output_is_cut_off_while_it_is_generated() -> None:
    small = Templates(limits=RenderLimits(output_chars=1000))
    with pytest.raises(TemplateError, match="output longer than 1000 characters"):
        render("{% for i in range(5000) %}{{ i }}{% endfor %}", small)
    assert len(render("{% for i in range(100) %}x{% endfor %}", small)) == 100


def test_text_built_inside_macros_and_set_blocks_is_counted() -> None:
    refused(
        "{% set s %}{% for a in range(10000) %}{{ 'x' * 1000 }}{% endfor %}{% endset %}ok",
        "built more than",
    )
    refused(
        "{% macro m() %}{% for a in range(10000) %}{{ 'y' * 1000 }}{% endfor %}{% endmacro %}"
        "{{ m() | length }}",
        "built more than",
    )


def test_html_email_output_is_counted_too() -> None:
    small = Templates(limits=RenderLimits(output_chars=2000))
    source = (
        "{% block subject %}s{% endblock %}{% block text %}{{ shipment.tracking_url }}"
        "{% endblock %}{% block html %}{% for i in range(1000) %}<p>{{ i }}</p>{% endfor %}"
        "{{ shipment.tracking_url }}{% endblock %}"
    )
    context = TEMPLATES.sample_context("shipped", "id")
    with pytest.raises(TemplateError, match="output longer than 2000"):
        small.render("shipped", "email", "id", context, timezone=TZ, override=source)


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("{{ 'a' * 10**9 }}", "repeated value"),
        ("{{ [1, 2] * 10**9 }}", "repeated value"),
        ("{{ 2 ** 100000 }}", "power would exceed 4096 bits"),
        ("{{ order.total ** 100000 }}", "power would exceed 1233 digits"),
        ("{{ (10**1000) * (10**1000) * (10**1000) * (10**1000) * (10**1000) }}", "product"),
        (
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "value longer than",
        ),
        (
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "concatenation",
        ),
        ("{{ '%999999999d' % 1 }}", "formatted field"),
        ("{{ '%*d' % (999999999, 1) }}", "'\\*' widths"),
        ("{{ '{:>999999999}'.format(1) }}", "formatted field"),
        ("{{ '{:>{w}}'.format(1, w=999999999) }}", "nested fields"),
        ("{{ 'x'.ljust(1000000000) }}", "ljust\\(\\) argument"),
        ("{{ (1).to_bytes(1000000000, 'big') }}", "to_bytes"),
        ("{{ ('x' * 100000).replace('', 'y' * 100000) }}", "replace"),
        ("{{ ('x' * 1000).join(range(10000)|map('string')) }}", "join"),
        ("{{ 'x'|center(1000000000) }}", "center"),
        ("{{ ('a\\n' * 100000)|indent(1000) }}", "indent"),
        ("{{ '%999999999s'|format(1) }}", "formatted field"),
        ("{{ ('x' * 100000)|replace('', 'y' * 100000) }}", "replace"),
        ("{{ range(10000)|join('x' * 100000) }}", "join"),
        ("{{ [1]|slice(1000000000)|list }}", "slice"),
        ("{{ [1]|batch(1000000000)|list }}", "batch"),
        ("{{ [[1]]|tojson(indent=100000000) }}", "tojson"),
        ("{{ 'a b'|wordwrap(1, wrapstring='x' * 100000) }}", "wordwrap"),
        ("{{ [[1] * 1000] * 1000|sum(start=[]) }}", "sum\\(\\) adds numbers only"),
        ("{{ lipsum(100000) }}", "lipsum"),
    ],
)
def test_huge_values_are_refused_before_they_are_built(source: str, match: str) -> None:
    err = refused(source, match)
    assert "render stopped" in str(err)


# --- Python internals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ lipsum.__globals__ }}",
        "{{ joiner.__init__.__globals__['os'] }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ shop['__class__'] }}",
        "{{ (order.number|attr('__class__')) }}",
    ],
)
def test_python_internals_are_refused_with_a_clear_error(source: str) -> None:
    with pytest.raises(TemplateError, match="not allowed in a template") as caught:
        render(source)
    assert isinstance(caught.value.__cause__, SecurityError)
    assert "unsafe" in str(caught.value)


def test_validation_names_private_attributes_with_their_line() -> None:
    source = "{{ shipment.tracking_url }}\n{{ cycler.__init__.__globals__ }}\n{{ x['_y'] }}"
    problems = TEMPLATES.validate(source, "shipped", "sms")
    private = [p for p in problems if "starting with '_'" in p.message]
    assert sorted((p.line, p.message.split("'")[1]) for p in private) == [
        (2, "__globals__"),
        (2, "__init__"),
        (3, "_y"),
    ]


def test_validation_refuses_an_oversized_source() -> None:
    problems = TEMPLATES.validate("x" * 70_000, "shipped", "sms")
    assert "longer than 65536" in problems[0].message
    with pytest.raises(TemplateError, match="longer than 65536"):
        render("x" * 70_000)


def test_validation_reports_a_runaway_as_a_problem() -> None:
    source = "{{ shipment.tracking_url }}{% for i in range(10**9) %}{% endfor %}"
    problems = TEMPLATES.validate(source, "shipped", "sms")
    assert problems and "render stopped: range()" in problems[0].message


# --- nothing changes for ordinary templates ----------------------------------------------------


def test_ordinary_loops_filters_and_formatting_still_work() -> None:
    source = (
        "{% for x in [3, 1, 2]|sort %}{{ loop.index }}/{{ loop.length }}"
        "{% if loop.last %}!{% endif %}{% endfor %} "
        "{% for y in [] %}{% else %}empty{% endfor %} "
        "{% for c in 'abc' if c != 'b' %}{{ c }}{% endfor %} "
        "{{ '%s-%05d' % ('a', 3) }} {{ '{:>4}|'.format('ab') }} {{ [1, 2]|join(', ') }} "
        "{{ 'a-b'.replace('-', '+') }} {{ range(3)|list }} {{ 'ab'|center(6) }}|"
        "{{ [1, 2, 3]|sum }} {{ ['a', 'b']|map('upper')|join }} {{ 'x' ~ 'y' ~ 1 }} "
        "{{ 2 ** 10 }} {{ order.total * 2 }} {{ [1]|batch(2, 0)|list }}"
    )
    assert render(source) == (
        "1/32/33/3! empty ac a-00003   ab| 1, 2 a+b [0, 1, 2]   ab  |6 AB xy1 1024 300000 [[1, 0]]"
    )


def test_the_budget_is_per_render() -> None:
    tight = Templates(limits=RenderLimits(iterations=150))
    source = "{{ shipment.tracking_url }}{% for i in range(100) %}{% endfor %}"
    for _ in range(3):  # 3 x 100 iterations in all: each render has its own budget
        assert render(source, tight).startswith("https://")
