"""What a merchant's template may use, and the problems found by reading it (no render): the
documented variables per trigger and channel, names that reach Python internals, missing email
blocks and a missing tracking link. :meth:`notifier.templating.Templates.validate` adds trial
renders with the sample data to these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import meta, nodes

SHIPMENT_OPTIONAL = frozenset({"order_confirmed", "return_update", "refund_update"})
EMAIL_BLOCKS = ("subject", "text", "html")


def fields(*names: str) -> dict[str, Any]:
    return dict.fromkeys(names)


_COMMON: dict[str, Any] = {
    **fields("trigger", "channel", "locale"),
    "shop": fields("name", "cs_whatsapp", "cs_email", "website"),
    "customer": fields("name", "first_name"),
    "order": fields("number", "total", "currency", "paid_at"),
    "shipment": {
        **fields("carrier", "carrier_name", "tracking_number", "tracking_url", "status"),
        **fields("carrier_url"),  # the carrier's own tracking page, when it has one
        **fields("eta", "previous_eta"),
        "last_event": fields("description", "location", "time"),
    },
}
_PER_TRIGGER: dict[str, dict[str, Any]] = {
    "delayed": {"delay": fields("kind")},
    "feedback_request": fields("feedback_url"),
    "return_update": {"return": fields("status")},
    "refund_update": {"refund": fields("status", "amount", "currency")},
    "parcel_digest": {"digest": fields("trigger", "count", "parcels")},
}


def documented_variables(trigger: str, channel: str) -> dict[str, Any]:
    """The variables a template of ``trigger``/``channel`` may use, as a tree: a dict lists
    the attributes of an object; None marks a value (its own methods are then allowed)."""
    extra = fields("unsubscribe_url") if channel == "email" else {}
    return {**_COMMON, **_PER_TRIGGER.get(trigger, {}), **extra}


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One finding of :meth:`Templates.validate`; ``line`` is 1-based when known."""

    message: str
    line: int | None = None


def static_problems(
    tree: nodes.Template, trigger: str, channel: str, env_globals: Mapping[str, Any]
) -> list[TemplateProblem]:
    """What reading the parsed template finds, in this order: private names, variables
    outside the documented set, missing email blocks and tracking links."""
    problems = _private_names(tree)
    problems += _unknown_variables(tree, documented_variables(trigger, channel), env_globals)
    return problems + _structure_problems(tree, trigger, channel)


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
