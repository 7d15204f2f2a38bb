"""The carrier error tree.

::

    CarrierError                      anything that went wrong talking to a carrier API
    ├── CarrierUnavailable            timeout, connection error, 5xx, 429: back off and retry
    ├── CarrierAuthError              401/403, bad or expired credentials: pause that carrier, alert
    └── CarrierResponseError          a body we cannot read (garbage, truncated, wrong shape):
                                      keep an excerpt, alert

Per-number outcomes inside a batch (not found, invalid number) are *data*, not exceptions: they
travel as :class:`carriers.base.ItemError` on the :class:`carriers.base.TrackingResult`, so one bad
number never aborts a batch. ``parse()`` raises only :class:`CarrierResponseError` for a body it
cannot read at all, and returns whole-response error envelopes (an auth error body, a rate-limit
body) as results carrying an ``ItemError``.
"""

from __future__ import annotations

EXCERPT_CHARS = 300  # keep error messages short; response bodies can be megabytes


def excerpt(body: bytes | str | None, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line excerpt of a response body for error messages and logs."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CarrierError(Exception):
    """Base of every carrier failure; carries the context needed to act on it."""

    def __init__(
        self,
        message: str,
        *,
        carrier: str,
        tracking_numbers: tuple[str, ...] = (),
        status_code: int | None = None,
        body_excerpt: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.carrier = carrier
        self.tracking_numbers = tracking_numbers
        self.status_code = status_code
        self.body_excerpt = body_excerpt

    def __str__(self) -> str:
        parts = [f"{self.carrier}: {self.message}"]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.tracking_numbers:
            shown = ", ".join(self.tracking_numbers[:3])
            more = len(self.tracking_numbers) - 3
            parts.append(f"numbers {shown}" + (f" (+{more})" if more > 0 else ""))
        return "; ".join(parts)


class CarrierUnavailable(CarrierError):
    """Transient: timeout, connection reset, 5xx or 429. ``retry_after`` is in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class CarrierAuthError(CarrierError):
    """Credentials refused (401/403 or an auth error body): pause the carrier and alert."""


class CarrierResponseError(CarrierError):
    """The body could not be read: not JSON/XML, truncated, or not the documented shape."""
