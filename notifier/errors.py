"""The notifier error tree (carrier errors live in :mod:`carriers.errors`).

::

    NotifierError
    ├── ConfigError                   invalid settings: one line naming the key, at start
    ├── InputError                    a bad order row, phone, email or carrier: rejected, with why
    ├── TemplateError                 a template that does not parse or render: fails that message
    └── SendError                     a sender could not deliver a message
        ├── TransientSendError        timeouts, 5xx, 429: retried with backoff
        ├── PermanentSendError        invalid number, opted out, rejected content: failed at once
        └── SenderAuthError           401/403: the sender is paused, the message waits, alert
"""

from __future__ import annotations


class NotifierError(Exception):
    """Base of the notifier's own errors."""


class ConfigError(NotifierError):
    """Settings are invalid; the message names the key."""


class InputError(NotifierError):
    """One item of input is invalid; ``field`` names what, the message says why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TemplateError(NotifierError):
    """A template failed to load, parse or render; carries where."""

    def __init__(self, message: str, *, template: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.template = template
        self.line = line

    def __str__(self) -> str:
        where = self.template + (f":{self.line}" if self.line else "")
        return f"{where}: {self.args[0]}" if where else str(self.args[0])


class SendError(NotifierError):
    """A message could not be sent. ``code`` is the provider's code when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.code = code
        self.status_code = status_code
        self.retry_after = retry_after

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.provider}{code}: {self.args[0]}"


class TransientSendError(SendError):
    """Worth retrying later (timeout, 5xx, 429)."""


class PermanentSendError(SendError):
    """Retrying cannot help (invalid or unreachable address, opted out, rejected content)."""

    def __init__(self, message: str, *, opted_out: bool = False, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.opted_out = opted_out


class SenderAuthError(SendError):
    """The provider refused our credentials: pause the sender and keep the message queued."""
