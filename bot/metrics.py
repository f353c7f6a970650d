"""The gateway's Prometheus metrics: the one owner of every ``hotline_…`` metric object.

Every label is low-cardinality and never personal data: a channel (``voice``,
``webchat``), an outcome or a reason from a fixed list, an SMS purpose.
Never a sender id, CallSid, phone, account, identifier or text.

Call sites use the small functions below (``rasa_failed``, ``transferred``…),
never the objects, so a label can only take the values listed here. The
exposition (:func:`render`) is served by :mod:`bot.gateway.metrics` and, with
its own objects, by the action server (:mod:`actions.metrics`).

Several processes (gunicorn workers, Sanic workers): with
``PROMETHEUS_MULTIPROC_DIR`` set in the environment *before* the process starts,
prometheus-client writes every value to a file of its process in that directory
and :func:`render` adds up the files of all processes. The directory must be
private to one server (the gateway's and the action server's apart) and emptied
when the server starts (:func:`on_starting`); :func:`child_exit` is gunicorn's
hook for a worker that ended. Without the variable (tests, ``flask run``), the
process's own default registry.
"""
from __future__ import annotations

import functools
import glob
import os
import time
from typing import Any, Callable, TypeVar

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_DIR) == "":  # an empty line in .env: one process, not the cwd
    del os.environ[MULTIPROC_DIR]

import requests  # noqa: E402
from prometheus_client import (  # noqa: E402 - after the variable is settled
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

CHANNELS = ("voice", "webchat")
# Seconds: a turn is fast (≈50 ms), the voice deadline is 4 s, chat's time-out 8 s.
LATENCY_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 4.0, 8.0)

TURNS = Counter(
    "hotline_turns", "Turns of a conversation answered by the gateway, by channel and outcome "
    "(answered; apology: Rasa, the actions or the database failed; refused: 4xx).",
    ["channel", "outcome"])
TURN_SECONDS = Histogram(
    "hotline_turn_duration_seconds", "Time the gateway took to answer a turn, by channel.",
    ["channel"], buckets=LATENCY_BUCKETS)
RASA_SECONDS = Histogram(
    "hotline_rasa_request_duration_seconds", "Time Rasa took to answer a turn the gateway sent.",
    ["channel"], buckets=LATENCY_BUCKETS)
RASA_ERRORS = Counter(
    "hotline_rasa_errors", "Turns Rasa did not answer usably, by channel and reason.",
    ["channel", "reason"])
VOICE_DEADLINE_MISSES = Counter(
    "hotline_voice_deadline_misses", "Phone turns past VOICE_TURN_DEADLINE_MS (stage rasa: Rasa "
    "ran out of the turn's time and the caller heard the apology; webhook: the answer was late).",
    ["stage"])
TRANSFERS = Counter(
    "hotline_transfers", "Conversations handed to a person, by channel and reason.",
    ["channel", "reason"])
CALLBACKS = Counter(
    "hotline_callbacks", "Callback requests, by channel and outcome (recorded or failed).",
    ["channel", "outcome"])
RATE_LIMITED = Counter(
    "hotline_rate_limit_refusals", "Requests refused by a rate limit or the secure step's "
    "per-source throttle, by channel and limit.", ["channel", "limit"])
VERIFICATIONS = Counter(
    "hotline_verifications", "Secure-step verifications against the records, by channel and "
    "outcome.", ["channel", "outcome"])
SMS = Counter(
    "hotline_sms", "SMS handed to Twilio, by purpose and outcome (sent or failed).",
    ["purpose", "outcome"])

RASA_REASONS = frozenset({"timeout", "unreachable", "refused", "http_error", "bad_reply",
                          "no_reply", "no_time", "error", "action_failed", "empty_slot"})
TRANSFER_REASONS = frozenset({"requested", "no_input", "no_match", "secure_step_failed",
                              "backend_error"})
RATE_LIMITS = frozenset({"address", "session", "new_session", "verify", "verify_source"})
VERIFY_OUTCOMES = frozenset({"ok", "mismatch", "locked", "closed_account", "throttled",
                             "invalid_identifier", "invalid_password_format"})
SMS_PURPOSES = frozenset({"complaint_ticket", "policy_answer", "account_locked"})
OTHER = "other"


def _known(value: str | None, allowed: frozenset[str] | tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else ``other``: labels stay a fixed set."""
    return value if value in allowed else OTHER


# ------------------------------------------------------------------ call sites


def turn_done(channel: str, outcome: str, seconds: float) -> None:
    """A turn ended (:mod:`bot.gateway.metrics` calls it after each turn request)."""
    channel = _known(channel, CHANNELS)
    TURNS.labels(channel, _known(outcome, ("answered", "apology", "refused"))).inc()
    TURN_SECONDS.labels(channel).observe(seconds)


def rasa_answered(channel: str, seconds: float) -> None:
    RASA_SECONDS.labels(_known(channel, CHANNELS)).observe(seconds)


def rasa_failed(channel: str, error: BaseException) -> None:
    """Rasa gave no usable answer; on the phone a time-out is a missed turn deadline."""
    reason = rasa_failure_reason(error)
    RASA_ERRORS.labels(_known(channel, CHANNELS), reason).inc()
    if channel == "voice" and reason in ("timeout", "no_time"):
        VOICE_DEADLINE_MISSES.labels("rasa").inc()


def rasa_failure_reason(error: BaseException) -> str:
    """The error's own ``reason``, else what its cause says (a time-out, no connection)."""
    reason = getattr(error, "reason", None)
    if reason in RASA_REASONS:
        return reason
    cause = error.__cause__
    if isinstance(cause, requests.Timeout):
        return "timeout"
    if isinstance(cause, requests.RequestException):
        return "unreachable"
    if isinstance(cause, ValueError):
        return "bad_reply"
    return "error"


Post = TypeVar("Post", bound=Callable[..., Any])


def observe_rasa(post: Post) -> Post:
    """Decorator of the Rasa client's one turn method (``RasaClient._post``):
    its latency when Rasa answered, the reason when it raised."""

    @functools.wraps(post)
    def observed(client: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            messages = post(client, *args, **kwargs)
        except Exception as error:
            rasa_failed(client.channel, error)
            raise
        rasa_answered(client.channel, time.perf_counter() - started)
        return messages

    return observed  # type: ignore[return-value]


def voice_deadline_missed() -> None:
    """A phone webhook was answered after ``VOICE_TURN_DEADLINE_MS``."""
    VOICE_DEADLINE_MISSES.labels("webhook").inc()


def transferred(channel: str, reason: str) -> None:
    """The conversation goes to a person (a transfer on the phone, a hand-over in chat)."""
    TRANSFERS.labels(_known(channel, CHANNELS), _known(reason, TRANSFER_REASONS)).inc()


def callback_requested(channel: str, recorded: bool) -> None:
    CALLBACKS.labels(_known(channel, CHANNELS), "recorded" if recorded else "failed").inc()


def rate_limited(channel: str, limit: str) -> None:
    RATE_LIMITED.labels(_known(channel, CHANNELS), _known(limit, RATE_LIMITS)).inc()


def verified(channel: str, ok: bool, reason: str | None) -> None:
    """A verification's outcome (``VerifyResult.ok`` and ``.reason``); a source the
    secure step's throttle stopped is a rate-limit refusal (``verify_source``) too."""
    outcome = "ok" if ok else _known(reason, VERIFY_OUTCOMES)
    VERIFICATIONS.labels(_known(channel, CHANNELS), outcome).inc()
    if outcome == "throttled":
        rate_limited(channel, "verify_source")


def sms_outcome(purpose: str, sent: bool) -> None:
    """One SMS handed to Twilio: accepted (``sent``) or refused/failed."""
    SMS.labels(_known(purpose, SMS_PURPOSES), "sent" if sent else "failed").inc()


# ------------------------------------------------------------------ exposition


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` when set (prometheus-client's own variable)."""
    return os.environ.get(MULTIPROC_DIR) or None


def registry() -> CollectorRegistry:
    """What to expose: every process's files in multiprocess mode, else this process."""
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    from prometheus_client import multiprocess

    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected, path=path)
    return collected


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def clear_multiprocess_dir() -> None:
    """Remove the value files of an earlier run (call once, before any worker starts)."""
    path = multiprocess_dir()
    if path is None:
        return
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)


def on_starting(_server: Any) -> None:
    """gunicorn's ``on_starting`` hook: a fresh multiprocess directory."""
    clear_multiprocess_dir()


def child_exit(_server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: forget the live gauges of a worker that ended."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
