"""Triggers and channels on/off, stored where the pipeline reads them.

``settings["notify"]["disabled_triggers"]``: triggers not sent at all (outbox and dispatch skip
them). ``settings["trigger_channels"][trigger]``: the channels one trigger goes on; without an
entry the trigger uses ``notify.channels``. An empty list would mean "the defaults" to the
outbox, so the last channel of a trigger cannot be switched off: turn the trigger off instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from notifier.errors import InputError
from notifier.pipeline.outbox import merchant_prefs
from notifier.runtime import Runtime
from notifier.settings import CHANNELS, TRIGGERS
from notifier.store.models import Merchant


@dataclass(frozen=True, slots=True)
class Switches:
    """What is on for one merchant."""

    channels: tuple[str, ...]  # notify.channels: the default for every trigger
    disabled: frozenset[str]
    per_trigger: dict[str, tuple[str, ...]]

    def trigger_on(self, trigger: str) -> bool:
        return trigger not in self.disabled

    def channels_for(self, trigger: str) -> tuple[str, ...]:
        return self.per_trigger.get(trigger) or self.channels

    def channel_on(self, trigger: str, channel: str) -> bool:
        return channel in self.channels_for(trigger)

    def as_json(self) -> dict[str, Any]:
        return {
            t: {"on": self.trigger_on(t), "channels": list(self.channels_for(t))} for t in TRIGGERS
        }


def read(rt: Runtime, merchant: Merchant) -> Switches:
    prefs = merchant_prefs(rt.settings.notify, merchant)
    raw = (merchant.settings or {}).get("trigger_channels") or {}
    per_trigger: dict[str, tuple[str, ...]] = {
        t: tuple(c for c in CHANNELS if c in chans)
        for t, chans in raw.items()
        if isinstance(chans, list) and chans
    }
    return Switches(tuple(prefs.channels), frozenset(prefs.disabled_triggers), per_trigger)


def _check(trigger: str, channel: str | None = None) -> None:
    if trigger not in TRIGGERS:
        raise InputError(f"unknown trigger {trigger!r}", field="trigger")
    if channel is not None and channel not in CHANNELS:
        raise InputError(f"unknown channel {channel!r}", field="channel")


def set_trigger(rt: Runtime, merchant: Merchant, trigger: str, on: bool) -> Switches:
    """Turn one trigger on or off for every channel (the caller adds and commits)."""
    _check(trigger)
    settings = dict(merchant.settings or {})
    notify = dict(settings.get("notify") or {})
    disabled = set(read(rt, merchant).disabled)
    disabled = disabled - {trigger} if on else disabled | {trigger}
    notify["disabled_triggers"] = [t for t in TRIGGERS if t in disabled]
    settings["notify"] = notify
    merchant.settings = settings  # a new dict: JSON columns track assignment, not mutation
    return read(rt, merchant)


def set_channel(rt: Runtime, merchant: Merchant, trigger: str, channel: str, on: bool) -> Switches:
    """Send ``trigger`` on ``channel`` or not (the caller adds and commits)."""
    _check(trigger, channel)
    chosen = set(read(rt, merchant).channels_for(trigger))
    chosen = chosen | {channel} if on else chosen - {channel}
    return set_channels(rt, merchant, trigger, sorted(chosen))


def set_channels(
    rt: Runtime, merchant: Merchant, trigger: str, channels: Sequence[str]
) -> Switches:
    """Send ``trigger`` on exactly ``channels`` (at least one; the caller adds and commits)."""
    _check(trigger)
    for channel in channels:
        _check(trigger, channel)
    chosen = set(channels)
    if not chosen:
        raise InputError(
            f"{trigger} needs at least one channel; turn the trigger off instead",
            field="channels",
        )
    settings = dict(merchant.settings or {})
    per_trigger = dict(settings.get("trigger_channels") or {})
    per_trigger[trigger] = [c for c in CHANNELS if c in chosen]
    settings["trigger_channels"] = per_trigger
    merchant.settings = settings
    return read(rt, merchant)
