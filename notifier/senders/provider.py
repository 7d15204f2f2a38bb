"""What the provider senders share: a bounded pool of threads for the providers' blocking
libraries (one library client per thread), and error tables as data.

Each provider module keeps a table from the provider's own codes to a :class:`Rule` (what the
pipeline should do, and a sentence a merchant understands); :func:`send_error` turns a rule into
one of the three errors of the :class:`~notifier.senders.base.Sender` protocol:

=========== ============================ ===================================================
outcome     raised as                    the pipeline then
=========== ============================ ===================================================
transient   TransientSendError           retries with backoff (``retry_after`` as a floor)
permanent   PermanentSendError           fails the message at once, with the reason
opted_out   PermanentSendError(opted_out) fails it and opts the shopper out of that channel
auth        SenderAuthError              pauses the sender, keeps the message, alerts
=========== ============================ ===================================================

Our own configuration mistakes that would fail every message the same way (a missing key, a
``From`` the provider does not know, a wrong ``api_base``) are ``auth`` too: pausing the sender
and keeping the queue beats burning every queued message on the same error.
"""

from __future__ import annotations

import asyncio
import email.utils
import http.client
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from notifier import metrics
from notifier.errors import PermanentSendError, SenderAuthError, SendError, TransientSendError
from notifier.logs import mask

C = TypeVar("C")
R = TypeVar("R")

DETAIL_CHARS = 300  # the provider's own words kept in an error message, at most
DEADLINE_FACTOR = 3  # a call may take this many socket timeouts in total (slow-drip servers)

# Raised by urllib, requests (RequestException is an OSError), smtplib and ssl when the network
# fails or a socket timeout expires: nothing was decided by the provider, so try again later.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


class Outcome(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    OPTED_OUT = "opted_out"
    AUTH = "auth"


@dataclass(frozen=True, slots=True)
class Rule:
    """What one provider answer means: the outcome, and the reason as a merchant reads it."""

    outcome: Outcome
    reason: str


TRANSIENT = Outcome.TRANSIENT
PERMANENT = Outcome.PERMANENT
OPTED_OUT = Outcome.OPTED_OUT
AUTH = Outcome.AUTH

# What an HTTP status means when the provider gave no code of its own that we know.
HTTP_STATUS: Mapping[int, Rule] = {
    401: Rule(AUTH, "the provider refused our credentials"),
    403: Rule(AUTH, "the provider refused our credentials for this action"),
    404: Rule(AUTH, "the provider has no such endpoint or account: check api_base"),
    405: Rule(AUTH, "the provider does not accept this request here: check api_base"),
    408: Rule(TRANSIENT, "the provider timed out reading our request"),
    413: Rule(PERMANENT, "the message is larger than the provider accepts"),
    429: Rule(TRANSIENT, "the provider's rate limit was reached"),
}


def by_status(status: int) -> Rule:
    """The rule for an HTTP status: the table above, else 5xx transient, other 4xx permanent."""
    if status in HTTP_STATUS:
        return HTTP_STATUS[status]
    if status >= 500:
        return Rule(TRANSIENT, f"the provider failed (HTTP {status})")
    return Rule(PERMANENT, f"the provider rejected the message (HTTP {status})")


def send_error(
    provider: str,
    rule: Rule,
    *,
    code: str | None,
    status_code: int | None = None,
    detail: str | None = None,
    retry_after: float | None = None,
) -> SendError:
    """The error that ``rule`` calls for. ``detail`` (the provider's own words) is shortened
    and masked: provider messages often quote the phone number or address."""
    message = rule.reason
    if detail:
        message = f"{message} ({_excerpt(detail)})"
    message = mask(message) or message
    kw: dict[str, Any] = {"provider": provider, "code": code, "status_code": status_code}
    if rule.outcome is Outcome.AUTH:
        return SenderAuthError(message, **kw)
    if rule.outcome is Outcome.TRANSIENT:
        return TransientSendError(message, retry_after=retry_after, **kw)
    return PermanentSendError(message, opted_out=rule.outcome is Outcome.OPTED_OUT, **kw)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= DETAIL_CHARS else flat[: DETAIL_CHARS - 1] + "…"


def not_configured(provider: str, what: str) -> SenderAuthError:
    """A sender missing a setting it needs: paused like an auth failure, messages kept."""
    return SenderAuthError(f"not configured: {what}", provider=provider, code="config")


def network_error(provider: str, err: BaseException, timeout: float) -> TransientSendError:
    """A timeout or connection failure, named without the library's traceback noise."""
    if isinstance(err, TimeoutError) or "timed out" in str(err).lower():
        what = f"no answer within {timeout:g} s"
    else:
        what = f"cannot reach the provider: {type(err).__name__}: {_excerpt(str(err))}"
    return TransientSendError(what, provider=provider, code="network")


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date, RFC 9110 10.2.3) or from
    SendGrid's ``X-RateLimit-Reset`` (epoch seconds); None when neither is usable."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time() if now is None else now
    value = lowered.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value.strip())
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = lowered.get("x-ratelimit-reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


class ThreadPool(Generic[C]):
    """A bounded pool of threads for a blocking provider library, each thread with its own
    client from ``factory`` (the libraries' clients are not documented as thread-safe).

    :meth:`run` also enforces an overall deadline on top of the library's socket timeout, which
    only bounds each read; a server that trickles bytes cannot hold a send for longer.
    """

    def __init__(self, name: str, workers: int, factory: Callable[[], C], deadline: float):
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name)
        self._seconds = metrics.PROVIDER_SECONDS.labels(name)
        self._factory = factory
        self._local = threading.local()
        self.deadline = deadline

    async def run(self, call: Callable[[C], R]) -> R:
        """``call(client)`` on a pool thread. Raises what ``call`` raises, or TimeoutError when
        the deadline passes first (the thread finishes on its own socket timeout)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._call, call)
        started = time.monotonic()
        try:
            return await asyncio.wait_for(future, self.deadline)
        finally:
            self._seconds.observe(time.monotonic() - started)

    def _call(self, call: Callable[[C], R]) -> R:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
        return call(client)

    async def aclose(self) -> None:
        """Stop taking calls; wait for those running (each is bounded by its timeout)."""
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
