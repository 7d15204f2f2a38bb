"""Fakes that tests (ours and plugin authors') share: a clock to move by hand, a sender that
remembers, a carrier that follows a script."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from carriers.base import ErrorKind, ItemError, TrackingResult
from carriers.errors import CarrierError
from notifier.errors import SendError
from notifier.senders.base import OutgoingMessage, SendResult


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


@dataclass
class MemorySender:
    """Keeps every message; ``fail`` maps a call number (1-based) or address to an error."""

    id: ClassVar[str] = "memory"
    channels: ClassVar[frozenset[str]] = frozenset({"email", "sms", "whatsapp"})
    sent: list[OutgoingMessage] = field(default_factory=list)
    fail: dict[Any, SendError] = field(default_factory=dict)
    calls: int = 0

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.calls += 1
        error = self.fail.get(self.calls) or self.fail.get(message.to)
        if error is not None:
            raise error
        self.sent.append(message)
        return SendResult(f"mem-{self.calls}")

    async def aclose(self) -> None:
        return None

    def to(self, address: str) -> list[OutgoingMessage]:
        return [m for m in self.sent if m.to == address]


@dataclass
class ScriptedCarrier:
    """A carrier adapter whose answers tests set per number (a result, or an error to raise)."""

    id: ClassVar[str] = "scripted"
    batch_size: ClassVar[int] = 40
    rate: ClassVar[float] = 1000.0
    per: ClassVar[float] = 1.0
    max_concurrency: ClassVar[int] = 8
    answers: dict[str, TrackingResult | CarrierError] = field(default_factory=dict)
    on_fetch: Callable[[Sequence[str]], None] | None = None
    calls: list[list[str]] = field(default_factory=list)

    def __init__(self, config: Mapping[str, Any] | None = None, client: Any = None) -> None:
        self.answers, self.calls, self.on_fetch = {}, [], None

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        self.calls.append(list(numbers))
        if self.on_fetch:
            self.on_fetch(numbers)
        out = []
        for number in numbers:
            answer = self.answers.get(number)
            if isinstance(answer, CarrierError):
                raise answer
            out.append(
                answer
                or TrackingResult(
                    self.id, number, None, error=ItemError(ErrorKind.NOT_FOUND, "not scripted")
                )
            )
        return out

    @staticmethod
    def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
        raise NotImplementedError("ScriptedCarrier answers from its script, not from bodies")

    async def aclose(self) -> None:
        return None
