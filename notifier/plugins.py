"""Plugins come from entry points only: ``notifier.carriers``, ``notifier.senders`` and
``notifier.order_sources``. A plugin that fails to load is reported, never silently skipped."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

GROUPS = {
    "carriers": "notifier.carriers",
    "senders": "notifier.senders",
    "order_sources": "notifier.order_sources",
}


@dataclass(frozen=True)
class PluginStatus:
    group: str
    name: str
    target: str
    error: str | None  # None: loads fine


def names(kind: str) -> list[str]:
    """Registered plugin names of one kind, sorted, without importing them."""
    return sorted({ep.name for ep in entry_points(group=GROUPS[kind])})


def _entry(kind: str, name: str) -> EntryPoint:
    found = [ep for ep in entry_points(group=GROUPS[kind]) if ep.name == name]
    if not found:
        known = ", ".join(names(kind)) or "none"
        raise KeyError(f"unknown {kind[:-1].replace('_', ' ')} {name!r} (installed: {known})")
    return found[0]


def load(kind: str, name: str) -> Any:
    """The class registered as ``name``; KeyError if none, ImportError if it fails to load."""
    return _entry(kind, name).load()


def load_carrier(name: str) -> Any:
    return load("carriers", name)


def load_sender(name: str) -> Any:
    return load("senders", name)


def senders_for(channel: str) -> list[str]:
    """Registered senders that can carry ``channel`` (those that fail to load are left out:
    ``notifier doctor`` reports them)."""
    out = []
    for name in names("senders"):
        try:
            cls = load_sender(name)
        except Exception:  # reported by check_all, not offered to merchants
            cls = None
        if channel in getattr(cls, "channels", ()):
            out.append(name)
    return out


def load_source(name: str) -> Any:
    return load("order_sources", name)


def check_all() -> list[PluginStatus]:
    """Try to load every registered plugin (``notifier doctor``)."""
    out = []
    for kind, group in GROUPS.items():
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            try:
                ep.load()
                error = None
            except Exception as err:  # a broken plugin must be reported, whatever it raised
                error = f"{type(err).__name__}: {err}"
            out.append(PluginStatus(kind, ep.name, ep.value, error))
    return out
