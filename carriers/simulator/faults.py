"""Fault plans: which requests the simulator answers badly, and how.

A plan is set with ``POST /v1/_faults`` and cleared with ``DELETE /v1/_faults``::

    {"seed": 7,                               # draws are deterministic for a given seed
     "paths": ["/v1/track"],                  # which endpoints; default: /v1/track only
     "faults": [                              # checked in order, the first that fires wins
        {"kind": "server_error", "probability": 0.1, "status": 503},
        {"kind": "rate_limit", "next": 3, "retry_after": 2},
        {"kind": "timeout", "after": 10, "next": 1, "delay": 30}
     ]}

A rule fires on a matching request when it is past its first ``after`` matches (default 0),
has ``next`` firings left (default unlimited) and wins its ``probability`` draw (default 1).

Kinds (what the client sees):

* ``server_error``: HTTP ``status`` (default 500) with a JSON error body;
* ``rate_limit``: 429 with ``Retry-After: <retry_after>`` (seconds, default 1);
* ``slow``: the normal answer after ``delay`` seconds (default 2);
* ``timeout``: nothing for ``delay`` seconds (default 60) or until the client gives up;
* ``reset``: the connection is closed without any response;
* ``truncated``: 200 with the normal JSON cut short (Content-Length matches the cut body);
* ``garbage``: 200 with bytes that are not JSON;
* ``auth``: 401 with a JSON error body, as for a wrong key.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_PATHS = ("/v1/track",)
MAX_DELAY = 600.0  # s; a longer hang is a mistake in the plan, not a useful fault


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    SLOW = "slow"
    TIMEOUT = "timeout"
    RESET = "reset"
    TRUNCATED = "truncated"
    GARBAGE = "garbage"
    AUTH = "auth"


_DEFAULT_DELAY = {FaultKind.SLOW: 2.0, FaultKind.TIMEOUT: 60.0}


@dataclass(slots=True)
class FaultRule:
    """One line of a plan; ``remaining`` and ``skip`` count down as requests arrive."""

    kind: FaultKind
    probability: float = 1.0
    remaining: int | None = None  # firings left; None = unlimited
    skip: int = 0  # matching requests still to let through before the rule applies
    status: int = 500
    retry_after: float = 1.0
    delay: float = 0.0

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "probability": self.probability}
        if self.remaining is not None:
            out["next"] = self.remaining
        if self.skip:
            out["after"] = self.skip
        if self.kind is FaultKind.SERVER_ERROR:
            out["status"] = self.status
        if self.kind is FaultKind.RATE_LIMIT:
            out["retry_after"] = self.retry_after
        if self.kind in _DEFAULT_DELAY:
            out["delay"] = self.delay
        return out


@dataclass(slots=True)
class FaultPlan:
    """The active plan. :meth:`draw` is called once per matching request, in arrival order."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    paths: tuple[str, ...] = DEFAULT_PATHS
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @classmethod
    def from_json(cls, payload: Any) -> FaultPlan:
        """A plan from its JSON form; ValueError naming the first bad field."""
        if not isinstance(payload, dict):
            raise ValueError("the fault plan must be a JSON object")
        seed = payload.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError("seed must be an integer")
        paths = payload.get("paths", list(DEFAULT_PATHS))
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("paths must be a list of strings")
        rules = payload.get("faults", [])
        if not isinstance(rules, list):
            raise ValueError("faults must be a list")
        return cls([_rule(r, i) for i, r in enumerate(rules)], seed, tuple(paths))

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "paths": list(self.paths),
            "faults": [r.as_json() for r in self.rules],
        }

    def draw(self, path: str) -> FaultRule | None:
        """The rule that fires for this request to ``path``, or None."""
        if path not in self.paths:
            return None
        for rule in self.rules:
            if rule.remaining == 0:
                continue
            if rule.skip > 0:
                rule.skip -= 1
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule
        return None

    def garbage(self, size: int = 256) -> bytes:
        """Seeded bytes that no JSON parser accepts (they start with a byte JSON never does)."""
        return b"\xff<html>" + self.rng.randbytes(size)


def _rule(raw: Any, index: int) -> FaultRule:
    where = f"faults[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object")
    try:
        kind = FaultKind(str(raw.get("kind")))
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"{where}.kind must be one of {known}") from None
    rule = FaultRule(kind, delay=_DEFAULT_DELAY.get(kind, 0.0))
    rule.probability = _number(raw, "probability", where, 1.0, 0.0, 1.0)
    if raw.get("next") is not None:
        rule.remaining = int(_number(raw, "next", where, 0, 0, 1e12))
    rule.skip = int(_number(raw, "after", where, 0, 0, 1e12))
    rule.status = int(_number(raw, "status", where, 500, 500, 599))
    rule.retry_after = _number(raw, "retry_after", where, 1.0, 0.0, 86400.0)
    rule.delay = _number(raw, "delay", where, rule.delay, 0.0, MAX_DELAY)
    return rule


def _number(
    raw: dict[str, Any], key: str, where: str, default: float, low: float, high: float
) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{where}.{key} must be a number from {low:g} to {high:g}")
    return float(value)
