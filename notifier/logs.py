"""Structured logs (structlog): JSON for machines, console for people; never secrets, never
whole phone numbers or email addresses."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_PHONE = re.compile(r"\+\d{8,15}")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_SECRET_KEYS = ("token", "secret", "password", "api_key", "apikey", "authorization", "auth")


def mask(value: str | None) -> str | None:
    """``+6281234567890`` -> ``+62812****7890``; ``rina@example.com`` -> ``r***@example.com``."""
    if value is None:
        return None
    value = _PHONE.sub(lambda m: _mask_phone(m.group(0)), value)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def _mask_phone(phone: str) -> str:
    if len(phone) < 10:
        return phone[:3] + "****"
    return phone[:6] + "****" + phone[-4:]


def _scrub(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        lowered = key.lower()
        if any(part in lowered for part in _SECRET_KEYS) and not lowered.endswith("_id"):
            event[key] = "**********"
        elif isinstance(value, str):
            event[key] = mask(value)
    return event


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Set up structlog and the stdlib root logger (carriers/ logs through stdlib)."""
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if console
        else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _scrub,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
