"""SMS to callers: the complaint ticket and its reply deadline, a policy answer in
full, and the notice to a depositor whose account was just locked.

Every SMS first goes to the ``sms_outbox`` table, once per purpose and
reference (a retried webhook does not send a second SMS): the ticket id for
a complaint, the call and the answer version for a policy answer, the
account and the moment of the lock for a lock notice. When
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``TWILIO_FROM_NUMBER`` are
set, :meth:`SmsSender.deliver` sends it through Twilio's REST API, in a
background thread so that the caller does not wait, and records the outcome;
otherwise it stays ``pending`` in the outbox for staff (and for the tests,
which never touch the network).
"""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.metrics import sms_outcome
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.account_models import FundAccount
from bot.records.identifiers import mask_account, mask_phone, normalize_phone
from bot.records.complaints import find_complaint
from bot.records.knowledge import answer_by_version
from bot.records.voice_models import SmsMessage, SmsStatus
from bot.settings import Settings

logger = logging.getLogger(__name__)

PURPOSE_COMPLAINT_TICKET = "complaint_ticket"
PURPOSE_POLICY_ANSWER = "policy_answer"
PURPOSE_ACCOUNT_LOCKED = "account_locked"


def mobile_number(value: str | None) -> str | None:
    """A Chinese mobile number (11 digits, 1[3-9]…) from any form, else None."""
    phone = normalize_phone(value or "")
    return phone if phone and phone.startswith("1") else None


def policy_reference(call_sid: str, version_id: int) -> str:
    """The outbox reference of a policy answer's SMS: one per call and answer version.

    The call's 32 hex digits without "CA" (the column holds 40 characters); the
    row's ``call_sid`` keeps the whole CallSid.
    """
    return f"{call_sid.removeprefix('CA')}:{version_id}"


def date_text(day: date) -> str:
    """A date as written in an SMS: 2026年12月4日."""
    return f"{day.year}年{day.month}月{day.day}日"


class SmsSender:
    """Queues SMS in the outbox and, with Twilio credentials, sends them."""

    def __init__(self, settings: Settings, templates: dict[str, str],
                 client_factory: Callable[[], Any] | None = None) -> None:
        self.settings = settings
        self.templates = templates
        default_token = Settings().twilio_auth_token
        self.enabled = bool(
            settings.twilio_account_sid
            and settings.twilio_from_number
            and settings.twilio_auth_token
            and settings.twilio_auth_token != default_token
        )
        self._client_factory = client_factory or self._twilio_client

    def _twilio_client(self) -> Any:
        from twilio.rest import Client

        return Client(self.settings.twilio_account_sid, self.settings.twilio_auth_token)

    def queue_complaint_ticket(self, session: Session, *, ticket_id: str, caller_number: str | None,
                               call_sid: str, now: datetime | None = None) -> SmsMessage | None:
        """Queue the ticket SMS to the complaint's mobile (or the caller's).

        Returns the outbox row (new or already queued), or None when there is
        no mobile number to send to or no such complaint.
        """
        existing = session.scalar(select(SmsMessage).where(
            SmsMessage.purpose == PURPOSE_COMPLAINT_TICKET, SmsMessage.reference == ticket_id))
        if existing is not None:
            return existing
        complaint = find_complaint(session, ticket_id)
        if complaint is None:
            logger.warning("no complaint %s to send an SMS about", ticket_id)
            return None
        to = mobile_number(complaint.contact_phone) or mobile_number(caller_number)
        if to is None:
            logger.info("complaint %s: no mobile number, no SMS", ticket_id)
            return None
        message = SmsMessage(
            to_number=to,
            body=self.templates[PURPOSE_COMPLAINT_TICKET].format(
                ticket_id=complaint.ticket_id, due_date=date_text(complaint.due_date)),
            purpose=PURPOSE_COMPLAINT_TICKET,
            reference=ticket_id,
            status=SmsStatus.pending,
            call_sid=call_sid,
            created_at=utc_now(now),
        )
        with session.begin_nested():
            session.add(message)
            session.flush()
        logger.info("SMS for complaint %s queued to %s", ticket_id, mask_phone(to))
        return message

    def queue_policy_answer(self, session: Session, *, call_sid: str, topic: str, version_id: int,
                            to_number: str, now: datetime | None = None) -> SmsMessage | None:
        """Queue the full SMS text of the answer version the caller just heard.

        At most one per call and version: a retried webhook, or the caller
        asking again, gets the row already queued. None when the version is
        not an approved version of ``topic`` (nothing to send).
        """
        reference = policy_reference(call_sid, version_id)
        existing = self._queued(session, PURPOSE_POLICY_ANSWER, reference)
        if existing is not None:
            return existing
        version = answer_by_version(session, version_id)
        if version is None or version.topic.key != topic:
            logger.warning("no approved answer version %s of %s to send by SMS", version_id, topic)
            return None
        message = SmsMessage(
            to_number=to_number, body=version.sms_text, purpose=PURPOSE_POLICY_ANSWER,
            reference=reference, status=SmsStatus.pending, call_sid=call_sid,
            created_at=utc_now(now),
        )
        try:
            with session.begin_nested():
                session.add(message)
                session.flush()
        except IntegrityError:  # the same webhook, handled twice at once
            return self._queued(session, PURPOSE_POLICY_ANSWER, reference)
        logger.info("SMS of answer %s (%s) queued to %s", version_id, topic, mask_phone(to_number))
        return message

    def queue_account_locked(self, session: Session, *, account_id: int,
                             now: datetime | None = None) -> SmsMessage | None:
        """Queue the lock notice to the depositor's mobile: the masked account, how
        many wrong passwords, for how long; never the password. One per lock
        (reference: the account and the moment); None without a mobile on record."""
        account = session.get(FundAccount, account_id)
        to = mobile_number(account.depositor.phone) if account is not None else None
        if account is None or to is None:
            logger.info("account lock: no mobile number on record, no SMS")
            return None
        now = utc_now(now)
        message = SmsMessage(
            to_number=to,
            body=self.templates[PURPOSE_ACCOUNT_LOCKED].format(
                account=mask_account(account.account_number),
                count=self.settings.auth_max_failures,
                hours=self.settings.auth_failure_window_hours),
            purpose=PURPOSE_ACCOUNT_LOCKED,
            reference=f"{account_id}:{now.strftime('%Y%m%d%H%M%S')}",
            status=SmsStatus.pending, call_sid=None, created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(message)
                session.flush()
        except IntegrityError:  # already queued for this lock
            return None
        logger.info("lock SMS for account %s queued to %s",
                    mask_account(account.account_number), mask_phone(to))
        return message

    def send_account_locked(self, account_id: int) -> None:
        """Queue the lock notice in a transaction of its own, then send it in the background."""
        try:
            with session_scope(self.settings.database_url) as session:
                message = self.queue_account_locked(session, account_id=account_id)
                message_id = message.id if message is not None else None
        except Exception:  # noqa: BLE001 - the person verifying still gets their answer
            logger.exception("lock SMS could not be queued")
            return
        if message_id is not None:
            self.deliver_later(message_id)

    @staticmethod
    def _queued(session: Session, purpose: str, reference: str) -> SmsMessage | None:
        return session.scalar(select(SmsMessage).where(
            SmsMessage.purpose == purpose, SmsMessage.reference == reference))

    def deliver(self, message_id: int) -> SmsStatus:
        """Send one queued SMS through Twilio and record the outcome."""
        with session_scope(self.settings.database_url) as session:
            message = session.get(SmsMessage, message_id)
            if message is None or message.status is not SmsStatus.pending:
                return message.status if message else SmsStatus.failed
            if not self.enabled:
                return SmsStatus.pending
            try:
                sent = self._client_factory().messages.create(
                    to="+86" + message.to_number,
                    from_=self.settings.twilio_from_number,
                    body=message.body,
                )
            except Exception as exc:  # noqa: BLE001 - any failure is recorded, not raised
                message.status = SmsStatus.failed
                message.error = f"{exc.__class__.__name__}: {exc}"[:200]
                logger.warning("SMS %d to %s failed: %s", message.id,
                               mask_phone(message.to_number), exc.__class__.__name__)
                sms_outcome(message.purpose, sent=False)
                return message.status
            message.status = SmsStatus.sent
            message.provider_sid = str(getattr(sent, "sid", "") or "")[:64] or None
            message.sent_at = utc_now()
            sms_outcome(message.purpose, sent=True)
            return message.status

    def deliver_later(self, message_id: int) -> None:
        """Send in the background when Twilio is configured (the caller does not wait)."""
        if not self.enabled:
            return
        threading.Thread(target=self._deliver_quietly, args=(message_id,),
                         name=f"sms-{message_id}", daemon=True).start()

    def _deliver_quietly(self, message_id: int) -> None:
        try:
            self.deliver(message_id)
        except Exception:  # noqa: BLE001 - a background thread must not die loudly
            logger.exception("SMS %d could not be delivered", message_id)
