"""The SMS outbox after queueing: one sender per row, attempts, delivery status.

Rows are queued by :mod:`bot.gateway.voice.sms` (one per purpose and
reference) and sent by :mod:`bot.sms`. Every change here is one conditional
``UPDATE`` whose ``WHERE`` states the row's expected state, so it is atomic on
SQLite and PostgreSQL alike and never a read-then-write that a concurrent
writer can spoil:

- :func:`claim` moves a due ``pending`` row to ``sending`` for one sender
  (``claimed_until``) and counts the attempt; a second sender's ``UPDATE``
  matches nothing. The attempt number is the claim's token: the outcome of an
  attempt is recorded only while ``attempts`` still equals it.
- :func:`record_sent`, :func:`record_retry`, :func:`record_failed`,
  :func:`record_unknown`: the outcome of an attempt. ``unknown`` means the
  request may have reached Twilio (it timed out after being sent, or the
  sender died with the row claimed: :func:`expire_claims`); such a row is
  never re-sent on its own, since Twilio's Messages API has no idempotency
  key. Twilio's status callback names the row (``?outbox=<id>``), so a message
  that did go out is reconciled by :func:`record_delivery`; otherwise a
  supervisor decides (:func:`retry_by_supervisor`, audited).
- :func:`record_delivery`: Twilio's delivery status, order-tolerant (a late
  ``sent`` never overwrites ``delivered``) and idempotent.

Functions take the session first; the caller owns the transaction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.records.audit import Actor, audit
from bot.records.clock import utc_now
from bot.records.errors import DeskConflictError, DeskNotFoundError, DeskPermissionError
from bot.records.staff_models import StaffRole
from bot.records.voice_models import SmsMessage, SmsStatus

logger = logging.getLogger(__name__)

# Twilio's message statuses by how far along they are; a report moves a row
# forward only. The final ones (rank 4) do not replace each other.
DELIVERY_RANK = {
    "accepted": 1, "scheduled": 1, "queued": 1, "sending": 2, "sent": 3,
    "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "read": 5,
}
DELIVERY_FAILED = ("undelivered", "failed")
# What a supervisor may send again: refused for good, fate unknown, or sent
# and then not delivered.
RETRYABLE = (SmsStatus.failed, SmsStatus.unknown)


def _changed(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------ sending


def due_ids(session: Session, *, now: datetime | None = None, limit: int = 20) -> list[int]:
    """Rows waiting for an attempt whose time has come, oldest first."""
    now = utc_now(now)
    return list(session.scalars(
        select(SmsMessage.id)
        .where(SmsMessage.status == SmsStatus.pending,
               or_(SmsMessage.next_attempt_at.is_(None), SmsMessage.next_attempt_at <= now))
        .order_by(SmsMessage.id).limit(limit)))


def claim(session: Session, message_id: int, *, lease_seconds: int,
          now: datetime | None = None) -> int | None:
    """Claim a due row for one attempt; its attempt number, or None if another
    sender has it, it is not due, or it is no longer pending."""
    now = utc_now(now)
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.status == SmsStatus.pending,
               or_(SmsMessage.next_attempt_at.is_(None), SmsMessage.next_attempt_at <= now))
        .values(status=SmsStatus.sending, attempts=SmsMessage.attempts + 1,
                claimed_until=now + timedelta(seconds=lease_seconds), last_attempt_at=now)
        .execution_options(synchronize_session=False))
    if _changed(result) != 1:
        return None
    return int(session.scalar(select(SmsMessage.attempts).where(SmsMessage.id == message_id)))


def _outcome(session: Session, message_id: int, attempt: int,
             statuses: tuple[SmsStatus, ...], **values: object) -> bool:
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.attempts == attempt,
               SmsMessage.status.in_(statuses))
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False))
    return _changed(result) == 1


def record_sent(session: Session, message_id: int, attempt: int, provider_sid: str | None, *,
                now: datetime | None = None) -> bool:
    """Twilio accepted the message (also after the claim expired, or after its
    status callback came first: the SID is the proof)."""
    return _outcome(session, message_id, attempt,
                    (SmsStatus.sending, SmsStatus.unknown, SmsStatus.sent),
                    status=SmsStatus.sent, provider_sid=provider_sid, sent_at=utc_now(now),
                    error=None, next_attempt_at=None)


def record_retry(session: Session, message_id: int, attempt: int, error: str,
                 next_attempt_at: datetime) -> bool:
    """A temporary failure: wait, then another attempt."""
    return _outcome(session, message_id, attempt, (SmsStatus.sending,),
                    status=SmsStatus.pending, error=error[:200],
                    next_attempt_at=next_attempt_at)


def record_failed(session: Session, message_id: int, attempt: int, error: str) -> bool:
    """Refused for good (or the last attempt failed): no more attempts."""
    return _outcome(session, message_id, attempt, (SmsStatus.sending,),
                    status=SmsStatus.failed, error=error[:200], next_attempt_at=None)


def record_unknown(session: Session, message_id: int, attempt: int, error: str) -> bool:
    """The request may have reached Twilio: not re-sent without evidence."""
    return _outcome(session, message_id, attempt, (SmsStatus.sending,),
                    status=SmsStatus.unknown, error=error[:200], next_attempt_at=None)


def expire_claims(session: Session, *, now: datetime | None = None) -> int:
    """Rows whose sender vanished mid-attempt (claim expired): ``unknown``."""
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.status == SmsStatus.sending, SmsMessage.claimed_until < utc_now(now))
        .values(status=SmsStatus.unknown, claimed_until=None,
                error="sender stopped during the attempt")
        .execution_options(synchronize_session=False))
    expired = _changed(result)
    if expired:
        logger.warning("%d SMS whose sender stopped mid-attempt marked unknown", expired)
    return expired


def give_up_old(session: Session, *, max_age_hours: int, now: datetime | None = None) -> int:
    """Rows still waiting long after they were queued: ``failed`` (a notice that
    comes a day late says something false or stale)."""
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.status == SmsStatus.pending,
               SmsMessage.created_at < utc_now(now) - timedelta(hours=max_age_hours))
        .values(status=SmsStatus.failed, error="too old to send", next_attempt_at=None)
        .execution_options(synchronize_session=False))
    old = _changed(result)
    if old:
        logger.warning("%d SMS waited over %d hours: given up", old, max_age_hours)
    return old


# ----------------------------------------------------------------- delivery


def record_delivery(session: Session, *, provider_sid: str, delivery_status: str,
                    error_code: str | None = None, message_id: int | None = None,
                    now: datetime | None = None) -> bool:
    """Record a status Twilio reported for a message; False if nothing changed
    (unknown message or status, or a report older than the one recorded)."""
    rank = DELIVERY_RANK.get(delivery_status)
    if rank is None:
        return False
    now = utc_now(now)
    mine = [SmsMessage.provider_sid == provider_sid]
    if message_id is not None:  # the callback URL names the row: reconcile a lost SID
        mine = [SmsMessage.id == message_id,
                or_(SmsMessage.provider_sid == provider_sid,
                    and_(SmsMessage.provider_sid.is_(None),
                         SmsMessage.status.in_((SmsStatus.sending, SmsStatus.unknown))))]
    earlier = [status for status, other in DELIVERY_RANK.items() if other < rank]
    changed = _changed(session.execute(
        update(SmsMessage)
        .where(*mine, or_(SmsMessage.delivery_status.is_(None),
                          SmsMessage.delivery_status.in_(earlier)))
        .values(provider_sid=provider_sid, delivery_status=delivery_status,
                delivery_error=error_code, delivery_at=now)
        .execution_options(synchronize_session=False)))
    # Twilio has it: a row whose attempt had no answer is sent after all.
    session.execute(
        update(SmsMessage)
        .where(SmsMessage.provider_sid == provider_sid,
               SmsMessage.status.in_((SmsStatus.sending, SmsStatus.unknown)))
        .values(status=SmsStatus.sent, sent_at=func.coalesce(SmsMessage.sent_at, now),
                error=None, claimed_until=None)
        .execution_options(synchronize_session=False))
    return changed > 0


# ------------------------------------------------------------- supervisors


def retry_by_supervisor(session: Session, actor: Actor, message_id: int, *,
                        now: datetime | None = None) -> None:
    """Queue a failed, unknown or undelivered SMS again (supervisors; audited).

    Its attempts start again from zero; the old SID and delivery status are
    cleared, so a late report of the old message changes nothing.
    """
    if actor is not None and actor.role is not StaffRole.supervisor:
        raise DeskPermissionError("supervisor_only")
    message = session.get(SmsMessage, message_id)
    if message is None:
        raise DeskNotFoundError("sms_not_found")
    before = message.status.value if message.delivery_status is None else \
        f"{message.status.value}/{message.delivery_status}"
    now = utc_now(now)
    result = session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id,
               or_(SmsMessage.status.in_(RETRYABLE),
                   and_(SmsMessage.status == SmsStatus.sent,
                        SmsMessage.delivery_status.in_(DELIVERY_FAILED))))
        .values(status=SmsStatus.pending, attempts=0, next_attempt_at=now, claimed_until=None,
                error=None, provider_sid=None, sent_at=None, delivery_status=None,
                delivery_error=None, delivery_at=None)
        .execution_options(synchronize_session=False))
    if _changed(result) != 1:
        raise DeskConflictError("sms_not_retryable")
    session.expire(message)
    audit(session, actor, "sms_retried", target_type="sms", target_id=message_id,
          detail=f"{message.purpose} {before}", now=now)
    logger.info("SMS %d queued again by a supervisor (was %s)", message_id, before)


def can_retry(message: SmsMessage) -> bool:
    """Whether :func:`retry_by_supervisor` accepts this row."""
    return message.status in RETRYABLE or (
        message.status is SmsStatus.sent and message.delivery_status in DELIVERY_FAILED)


@dataclass(frozen=True)
class OutboxCounts:
    """Rows created in a period, by status and by Twilio's delivery status."""

    by_status: dict[str, int]
    by_delivery: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def outbox_counts(session: Session, since: datetime) -> OutboxCounts:
    """Counts of the SMS created since ``since``."""
    by_status = {status.value: 0 for status in SmsStatus}
    for status, count in session.execute(
            select(SmsMessage.status, func.count(SmsMessage.id))
            .where(SmsMessage.created_at >= since).group_by(SmsMessage.status)):
        by_status[status.value] = int(count)
    by_delivery = {
        str(delivery): int(count) for delivery, count in session.execute(
            select(SmsMessage.delivery_status, func.count(SmsMessage.id))
            .where(SmsMessage.created_at >= since, SmsMessage.delivery_status.is_not(None))
            .group_by(SmsMessage.delivery_status))}
    return OutboxCounts(by_status, by_delivery)


def outbox_rows(session: Session, *, status: str | None = None,
                limit: int = 200) -> list[SmsMessage]:
    """The latest outbox rows, newest first; ``status`` is a row status or
    ``"undelivered"`` (sent, then reported undelivered or failed by Twilio)."""
    query = select(SmsMessage).order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc())
    if status == "undelivered":
        query = query.where(SmsMessage.delivery_status.in_(DELIVERY_FAILED))
    elif status in {member.value for member in SmsStatus}:
        query = query.where(SmsMessage.status == SmsStatus(status))
    return list(session.scalars(query.limit(limit)))
