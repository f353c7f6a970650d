"""One attempt at a time: claim an outbox row, send it through Twilio, record it.

:class:`OutboxSender` is used twice: by the gateway for the first attempt,
right after an SMS is queued (in a background thread, so nobody waits), and by
the sender process (``python -m bot.sms``) for everything due later. Both go
through :func:`bot.records.sms_outbox.claim`, so a row is sent by one of them
only. No database transaction is open while Twilio is called: the claim is
committed first, the outcome recorded in a transaction of its own, each a
single conditional ``UPDATE``, which is what keeps a concurrent write on
SQLite from losing a sent SMS (issue 11).

With ``PUBLIC_BASE_URL`` set, each message asks Twilio for status callbacks at
``{PUBLIC_BASE_URL}/voice/sms-status?outbox=<id>``.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from bot.metrics import sms_outcome
from bot.records import sms_outbox
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.identifiers import mask_phone
from bot.records.voice_models import SmsMessage, SmsStatus
from bot.settings import Settings
from bot.sms.policy import classify, describe, next_delay

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
STATUS_CALLBACK_PATH = "/voice/sms-status"
# Recording an outcome is retried a few times if the database is busy: the
# SMS has already gone, losing that fact would leave the row to expire unknown.
RECORD_TRIES = 5


def twilio_configured(settings: Settings) -> bool:
    """All three Twilio settings given, and not the development token."""
    return bool(settings.twilio_account_sid and settings.twilio_from_number
                and settings.twilio_auth_token
                and settings.twilio_auth_token != Settings().twilio_auth_token)


def claim_lease_seconds(settings: Settings) -> int:
    """How long a claim lasts: well beyond one request's time-out."""
    return 4 * settings.sms_twilio_timeout_seconds + 30


def twilio_client(settings: Settings, api_base: str | None = None) -> Any:
    """Twilio's REST client with the request time-out of ``SMS_TWILIO_TIMEOUT_SECONDS``.

    ``api_base`` (default ``SMS_TWILIO_API_BASE``; tests, a local stand-in)
    replaces ``https://api.twilio.com``.
    """
    api_base = api_base or settings.sms_twilio_api_base or None
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    class _Http(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if api_base and url.startswith(TWILIO_API):
                url = api_base.rstrip("/") + url[len(TWILIO_API):]
            return super().request(method, url, *args, **kwargs)

    http = _Http(timeout=settings.sms_twilio_timeout_seconds, max_retries=0)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)


@dataclass
class Round:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    expired: int = 0
    skipped: int = 0


class OutboxSender:
    """Sends outbox rows through Twilio, one claimed attempt at a time."""

    def __init__(self, settings: Settings, *, client_factory: Callable[[], Any] | None = None,
                 api_base: str | None = None, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.enabled = twilio_configured(settings)
        self._client_factory = client_factory or (lambda: twilio_client(settings, api_base))
        self._local = threading.local()  # one client per thread (the gateway's are many)
        self._rng = rng or random.Random()

    def _twilio(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._client_factory()
        return client

    def _callback_url(self, message_id: int) -> str | None:
        base = self.settings.public_base_url
        return f"{base}{STATUS_CALLBACK_PATH}?outbox={message_id}" if base else None

    def _record(self, write: Callable[[Any], bool]) -> bool:
        for attempt in range(RECORD_TRIES):
            try:
                with session_scope(self.settings.database_url) as session:
                    return write(session)
            except OperationalError:
                if attempt == RECORD_TRIES - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        return False

    def send_one(self, message_id: int, *, now: datetime | None = None) -> SmsStatus | None:
        """One attempt at a due row; its status after it, or None if not ours to send."""
        if not self.enabled:
            return None
        lease = claim_lease_seconds(self.settings)
        with session_scope(self.settings.database_url) as session:
            attempt = sms_outbox.claim(session, message_id, lease_seconds=lease, now=now)
            if attempt is None:
                return None
            message = session.get(SmsMessage, message_id)
            assert message is not None
            to, body, purpose = message.to_number, message.body, message.purpose
        request: dict[str, str] = {"to": "+86" + to, "from_": self.settings.twilio_from_number,
                                   "body": body}
        callback = self._callback_url(message_id)
        if callback:
            request["status_callback"] = callback
        try:
            created = self._twilio().messages.create(**request)
        except Exception as exc:  # noqa: BLE001 - every failure is sorted and recorded
            sms_outcome(purpose, sent=False)
            return self._failed(message_id, attempt, to, exc)
        sms_outcome(purpose, sent=True)
        sid = str(getattr(created, "sid", "") or "")[:64] or None
        self._record(lambda s: sms_outbox.record_sent(s, message_id, attempt, sid))
        logger.info("SMS %d sent to %s (attempt %d)", message_id, mask_phone(to), attempt)
        return SmsStatus.sent

    def _failed(self, message_id: int, attempt: int, to: str, exc: BaseException) -> SmsStatus:
        verdict, error = classify(exc), describe(exc)
        if verdict == "retry" and attempt < self.settings.sms_max_attempts:
            wait = next_delay(attempt, base=self.settings.sms_retry_base_seconds,
                              cap=self.settings.sms_retry_max_seconds, rng=self._rng)
            later = utc_now() + timedelta(seconds=wait)
            self._record(lambda s: sms_outbox.record_retry(s, message_id, attempt, error, later))
            logger.warning("SMS %d to %s: %s, attempt %d; next in %.0f s", message_id,
                           mask_phone(to), error, attempt, wait)
            return SmsStatus.pending
        if verdict == "unknown":
            self._record(lambda s: sms_outbox.record_unknown(s, message_id, attempt, error))
            logger.error("SMS %d to %s: %s; it may have gone out, not sent again (status "
                         "callback or a supervisor decides)", message_id, mask_phone(to), error)
            return SmsStatus.unknown
        self._record(lambda s: sms_outbox.record_failed(s, message_id, attempt, error))
        logger.error("SMS %d to %s failed for good after %d attempt(s): %s", message_id,
                     mask_phone(to), attempt, error)
        return SmsStatus.failed

    def run_once(self, *, limit: int = 50, now: datetime | None = None) -> Round:
        """Expire stale claims, give up rows older than ``SMS_MAX_AGE_HOURS``, then
        one attempt at each due row (up to ``limit``)."""
        done = Round()
        with session_scope(self.settings.database_url) as session:
            done.expired = sms_outbox.expire_claims(session, now=now)
            done.failed = sms_outbox.give_up_old(
                session, max_age_hours=self.settings.sms_max_age_hours, now=now)
            due = sms_outbox.due_ids(session, now=now, limit=limit)
        for message_id in due:
            status = self.send_one(message_id, now=now)
            if status is None:
                done.skipped += 1
            elif status is SmsStatus.sent:
                done.sent += 1
            elif status is SmsStatus.pending:
                done.retried += 1
            elif status is SmsStatus.unknown:
                done.unknown += 1
            else:
                done.failed += 1
        return done
