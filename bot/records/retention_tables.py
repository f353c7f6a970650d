"""What the retention job does to which table: one :class:`Rule` per period of ``retention.yml``.

Personal data in the records and the tracker store, and what happens to it
(the periods are in ``retention.yml``; the job is :mod:`bot.records.retention`):

=============================  ========================================  ======================
table                          personal data                             what the job does
=============================  ========================================  ======================
events (Rasa tracker store)    every message: typed ID, phone, account   deleted after
                               numbers, the caller's number (voice)      ``tracker_events``
auth_failures                  keyed hash of the identifier, account     deleted after
                                                                         ``auth_failures``
auth_source_events             keyed hashes of the source and account    deleted after
                                                                         ``auth_source_events``
auth_sessions                  account, conversation (token: hash only)  deleted, counted from
                                                                         expiry
staff_login_failures           keyed hash of the name typed, address     deleted
staff_sessions                 staff member, address                     deleted, from expiry
voice_call_states,             sealed identifier, TwiML said (balances)  deleted at hang-up;
voice_turns                                                              leftovers after
                                                                         ``voice_call_working_data``
sms_outbox                     mobile number, text                       text removed, number
                                                                         masked; rows deleted
voice_calls                    the caller's number                       number masked; row
                                                                         kept (statistics)
callback_requests              phone                                     masked once done
complaints,                    contact phone; numbers in the             masked once closed
complaint_events               description, transcript, reply, notes     (legal period)
=============================  ========================================  ======================

The other tables are kept as they are, each for the reason given in
:data:`KEPT_TABLES` (the center's master data, staff accounts and audit logs,
masked or hashed rows).

Every rule's condition excludes what it already did (masked rows hold a
``*``, a masked complaint has a ``contacts_masked`` event), so a second run
finds nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.records.account_models import AuthFailure, AuthSession, AuthSourceEvent
from bot.records.identifiers import has_unmasked_number, mask_phone, mask_text
from bot.records.redaction import redact_text
from bot.records.service_models import (
    CallbackRequest,
    CallbackStatus,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
)
from bot.records.staff_models import StaffLoginFailure, StaffSession
from bot.records.voice_models import SmsMessage, SmsStatus, VoiceCall, VoiceCallState, VoiceTurn

TRACKER_EVENTS = "tracker_events"  # the one rule on Rasa's tracker store, not on the records
MASKED_EVENT = "contacts_masked"  # complaint_events.action written when a complaint is masked
RETENTION_ACTOR = "retention"  # complaint_events.actor of that event
DONE_SMS = (SmsStatus.sent, SmsStatus.failed, SmsStatus.unknown)  # unknown: may have gone out, never re-sent

Due = Callable[[datetime], ColumnElement[bool]]


@dataclass(frozen=True)
class Rule:
    """One period of ``retention.yml``: rows of ``model`` that are due are deleted or masked.

    ``due(cutoff)`` selects the rows older than the period that the rule has
    not handled yet; ``mask(session, row, now)`` masks one loaded row in place
    (None: the rows are deleted).
    """

    name: str
    model: Any
    due: Due
    mask: Callable[[Session, Any, datetime], None] | None = None

    @property
    def action(self) -> Literal["deleted", "masked"]:
        return "deleted" if self.mask is None else "masked"

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


def unmasked(column: Any) -> ColumnElement[bool]:
    """A phone column that holds a number not masked yet."""
    return and_(column.is_not(None), column != "", column.not_like("%*%"))


def masked_text(text: str | None) -> str | None:
    """``text`` with every ID, phone, account and card number masked (unchanged if none)."""
    if not text or not has_unmasked_number(text):
        return text
    return mask_text(text)


# ------------------------------------------------------------------ masking


def _mask_sms(_session: Session, row: SmsMessage, _now: datetime) -> None:
    row.body = ""
    row.to_number = mask_phone(row.to_number)


def _mask_call(_session: Session, row: VoiceCall, _now: datetime) -> None:
    row.from_number = mask_phone(row.from_number or "")


def _mask_callback(_session: Session, row: CallbackRequest, _now: datetime) -> None:
    row.phone = mask_phone(row.phone)


def _mask_complaint(session: Session, row: Complaint, now: datetime) -> None:
    """Contact phone masked, numbers masked in its texts; the audit trail says so."""
    row.contact_phone = mask_phone(row.contact_phone) if row.contact_phone else None
    row.description = masked_text(row.description) or ""
    row.location = masked_text(row.location)
    row.reply = masked_text(row.reply)
    # The transcript as a newly filed one is kept (bot.records.redaction, the
    # capture's own masking): numbers said in words, references and amounts too.
    row.transcript = [
        {**turn, "text": redact_text(turn.get("text"))} if isinstance(turn, dict) else turn
        for turn in row.transcript or []
    ]
    trail = select(ComplaintEvent).where(ComplaintEvent.complaint_id == row.id)
    for event in session.scalars(trail):
        event.detail = masked_text(event.detail)
    session.add(ComplaintEvent(complaint_id=row.id, at=now, actor=RETENTION_ACTOR,
                               action=MASKED_EVENT, detail=None))


# -------------------------------------------------------------------- rules


def _complaint_due(cutoff: datetime) -> ColumnElement[bool]:
    already = exists().where(ComplaintEvent.complaint_id == Complaint.id,
                             ComplaintEvent.action == MASKED_EVENT)
    return and_(Complaint.status == ComplaintStatus.closed, Complaint.updated_at < cutoff,
                ~already)


RULES: tuple[Rule, ...] = (
    Rule("auth_failures", AuthFailure, lambda cutoff: AuthFailure.at < cutoff),
    Rule("auth_source_events", AuthSourceEvent, lambda cutoff: AuthSourceEvent.at < cutoff),
    Rule("auth_sessions", AuthSession, lambda cutoff: AuthSession.expires_at < cutoff),
    Rule("staff_login_failures", StaffLoginFailure,
         lambda cutoff: StaffLoginFailure.at < cutoff),
    Rule("staff_sessions", StaffSession, lambda cutoff: StaffSession.expires_at < cutoff),
    Rule("voice_call_working_data", VoiceTurn, lambda cutoff: VoiceTurn.created_at < cutoff),
    Rule("voice_call_working_data", VoiceCallState,
         lambda cutoff: VoiceCallState.updated_at < cutoff),
    Rule("sms_contents", SmsMessage,
         lambda cutoff: and_(SmsMessage.status.in_(DONE_SMS), SmsMessage.created_at < cutoff,
                             or_(SmsMessage.body != "", unmasked(SmsMessage.to_number))),
         mask=_mask_sms),
    Rule("sms_outbox", SmsMessage,
         lambda cutoff: and_(SmsMessage.status.in_(DONE_SMS), SmsMessage.created_at < cutoff)),
    Rule("call_numbers", VoiceCall,
         lambda cutoff: and_(VoiceCall.started_at < cutoff, unmasked(VoiceCall.from_number)),
         mask=_mask_call),
    Rule("callback_phones", CallbackRequest,
         lambda cutoff: and_(CallbackRequest.status == CallbackStatus.done,
                             func.coalesce(CallbackRequest.done_at,
                                           CallbackRequest.created_at) < cutoff,
                             unmasked(CallbackRequest.phone)),
         mask=_mask_callback),
    Rule("closed_complaint_contacts", Complaint, _complaint_due, mask=_mask_complaint),
)

PERIOD_NAMES: tuple[str, ...] = (TRACKER_EVENTS, *dict.fromkeys(rule.name for rule in RULES))

# Tables no rule touches, each for a reason (see the module's docstring). A new
# table must be added to a rule or here: tests/bot/records/test_retention.py
# fails until it is, so nobody adds personal data that is kept forever unnoticed.
KEPT_TABLES: dict[str, str] = {
    "depositors": "the center's master data, mirrored for look-ups",
    "employers": "the center's master data",
    "fund_accounts": "the center's master data",
    "contribution_records": "the center's master data",
    "loans": "the center's master data",
    "loan_installments": "the center's master data",
    "withdrawal_applications": "the center's master data",
    "entrust_agreements": "the center's master data",
    "complaint_events": "the complaint's audit trail (masked with its complaint)",
    "ratings": "score and comment, no identifier asked for",
    "handovers": "masked account; kept for service statistics",
    "onsite_requests": "an employer's contact person, kept while the employer is served",
    "staff_users": "staff accounts, kept while employed",
    "desk_audit_events": "the desk's audit log",
    "missed_turns": "masked text, hashed conversation id",
    "policy_topics": "no personal data",
    "policy_versions": "no personal data",
    "policy_examples": "no personal data",
    "policy_asks": "hashed conversation id",
    "model_releases": "no personal data",
}
