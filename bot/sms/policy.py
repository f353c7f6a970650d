"""What a failed attempt means, and how long to wait before the next one.

:func:`classify` sorts the exception of one ``messages.create`` call:

- ``retry``: the message certainly did not go out and may later: HTTP 429 or
  5xx from Twilio (Twilio refused or could not take it), a 401 (our
  credentials: fixed by a person, then the rows still go), a connection that
  was never made (refused, DNS, TLS, connect time-out).
- ``permanent``: Twilio refused this message for good: any other 4xx, e.g.
  21211 invalid "To" number, 21610 the recipient replied STOP, 21612/21408 the
  route or region is not allowed, 21614 not a mobile number. No retry.
- ``unknown``: the request may have reached Twilio and the answer was lost
  (read time-out, connection dropped after sending, anything unexpected).
  Twilio's Messages API has no idempotency key, so sending again could send
  twice: the row waits for the status callback or a supervisor.

:func:`next_delay` is exponential back-off with "equal jitter": attempt *n*
waits between half and all of ``base * 2**(n-1)``, capped at ``cap`` seconds.
:func:`describe` is what the outbox keeps as the error: class, HTTP status and
Twilio code only, never the exception's text (Twilio's messages quote the
phone number).
"""
from __future__ import annotations

import random
from typing import Literal

from requests import exceptions as http_errors
from twilio.base.exceptions import TwilioRestException
from urllib3.exceptions import NewConnectionError

Verdict = Literal["retry", "permanent", "unknown"]

RETRY_STATUSES = frozenset({401, 408, 409, 429})


def _never_connected(exc: BaseException) -> bool:
    if isinstance(exc, (http_errors.ConnectTimeout, http_errors.SSLError)):
        return True
    if isinstance(exc, http_errors.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError)
    return False


def classify(exc: BaseException) -> Verdict:
    """``retry``, ``permanent`` or ``unknown`` for a failed create call."""
    if isinstance(exc, TwilioRestException):
        status = int(exc.status or 0)
        if status >= 500 or status in RETRY_STATUSES:
            return "retry"
        if 400 <= status < 500:
            return "permanent"
        return "unknown"
    if _never_connected(exc):
        return "retry"
    return "unknown"


def describe(exc: BaseException) -> str:
    """The error the outbox and the desk show: no personal data."""
    if isinstance(exc, TwilioRestException):
        code = f" {exc.code}" if exc.code else ""
        return f"Twilio{code} (HTTP {exc.status})"
    return exc.__class__.__name__


def next_delay(attempt: int, *, base: float, cap: float,
               rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, …)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)
