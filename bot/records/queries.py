"""Read and write functions used by the actions and the gateway.

Every function takes the session first and leaves the transaction to the
caller (``with session_scope() as session: ...``). Values come back as plain
dicts of ``Decimal``, ``date`` and aware ``datetime`` (UTC); codes are the
English enum values, which responses translate.
"""
from __future__ import annotations

import enum
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.records.account_models import (
    AccountStatus,
    AgreementStatus,
    ContributionRecord,
    EntrustAgreement,
    FundAccount,
    Loan,
    LoanInstallment,
    LoanStatus,
    WithdrawalApplication,
    WithdrawalStatus,
)
from bot.records.base import Channel
from bot.records.clock import add_months, first_of_month, months_between, shanghai_date, utc_now
from bot.records.errors import (
    RecordNotFoundError,
    RecordsValidationError,
    TicketAllocationError,
)
from bot.records.identifiers import mask_account, mask_card, normalize_phone, normalize_ticket_id
from bot.records.service_models import (
    CallbackRequest,
    CallbackStatus,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    Handover,
    HandoverStatus,
    OnsiteRequest,
    OnsiteStatus,
    Rating,
)
from bot.records.workdays import add_working_days

logger = logging.getLogger(__name__)

COMPLAINT_REPLY_WORKING_DAYS = 5
MAX_DESCRIPTION_LENGTH = 2000
MAX_LOCATION_LENGTH = 200
MAX_STAFF_NUMBER_LENGTH = 20
MAX_IDEMPOTENCY_KEY_LENGTH = 128
MAX_CONVERSATION_ID_LENGTH = 64
MAX_TRANSCRIPT_TURNS = 500
MAX_TRANSCRIPT_TEXT_LENGTH = 4000
MAX_TRANSCRIPT_ROLE_LENGTH = 20
MAX_COMMENT_LENGTH = 500
MAX_REASON_CODE_LENGTH = 40
MAX_INTENT_PATH_LENGTH = 500
MAX_CONTEXT_JSON_LENGTH = 20_000
MAX_CALLBACK_REASON_LENGTH = 200
MAX_EMPLOYER_NAME_LENGTH = 100
MAX_CONTACT_NAME_LENGTH = 50
MAX_PREFERRED_TIME_LENGTH = 100
MAX_NOTE_LENGTH = 1000
MAX_HEADCOUNT = 100_000
TICKET_ALLOCATION_ATTEMPTS = 30
LAST_CONTRIBUTIONS = 3
LATEST_WITHDRAWALS = 5

_STAFF_NUMBER_RE = re.compile(r"^[A-Za-z0-9\-]+$")
_REASON_CODE_RE = re.compile(r"^[a-z][a-z0-9_.:-]*$")

E = TypeVar("E", bound=enum.Enum)


# ------------------------------------------------------------------- validation


def _enum_value(enum_class: type[E], value: E | str, name: str) -> E:
    try:
        return enum_class(value)
    except ValueError as exc:
        codes = ", ".join(member.value for member in enum_class)
        raise RecordsValidationError(f"{name} must be one of {codes}, got {value!r}") from exc


def _text(
    value: str | None, name: str, max_length: int, *, required: bool = False
) -> str | None:
    if value is None:
        if required:
            raise RecordsValidationError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise RecordsValidationError(f"{name} must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value:
        if required:
            raise RecordsValidationError(f"{name} must not be empty")
        return None
    if len(value) > max_length:
        raise RecordsValidationError(
            f"{name} is {len(value)} characters long; the limit is {max_length}"
        )
    return value


def _phone(value: str | None, name: str, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordsValidationError(f"{name} is required")
        return None
    normalized = normalize_phone(value) if isinstance(value, str) else None
    if normalized is None:
        raise RecordsValidationError(
            f"{name} must be a mobile number (1[3-9] + 9 digits) or a 028 landline"
        )
    return normalized


def _reason_code(value: str, name: str) -> str:
    checked = _text(value, name, MAX_REASON_CODE_LENGTH, required=True)
    assert checked is not None
    if not _REASON_CODE_RE.fullmatch(checked):
        raise RecordsValidationError(f"{name} must be a lower-case code like 'no_match_twice'")
    return checked


def _json_size(value: Any, name: str, limit: int) -> None:
    try:
        encoded = json.dumps(value, ensure_ascii=False, default=None)
    except (TypeError, ValueError) as exc:
        raise RecordsValidationError(f"{name} must be JSON-serialisable: {exc}") from exc
    if len(encoded) > limit:
        raise RecordsValidationError(f"{name} is {len(encoded)} characters as JSON; limit {limit}")


def _transcript(turns: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    if turns is None:
        return []
    if isinstance(turns, (str, bytes)) or not isinstance(turns, Sequence):
        raise RecordsValidationError("transcript must be a list of {role, text, at} mappings")
    if len(turns) > MAX_TRANSCRIPT_TURNS:
        raise RecordsValidationError(
            f"transcript has {len(turns)} turns; the limit is {MAX_TRANSCRIPT_TURNS}"
        )
    cleaned: list[dict[str, str]] = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, Mapping):
            raise RecordsValidationError(f"transcript[{index}] must be a mapping")
        role = _text(turn.get("role"), f"transcript[{index}].role", MAX_TRANSCRIPT_ROLE_LENGTH,
                     required=True)
        text = turn.get("text")
        if not isinstance(text, str):
            raise RecordsValidationError(f"transcript[{index}].text must be a string")
        if len(text) > MAX_TRANSCRIPT_TEXT_LENGTH:
            raise RecordsValidationError(
                f"transcript[{index}].text is longer than {MAX_TRANSCRIPT_TEXT_LENGTH} characters"
            )
        at = turn.get("at")
        if isinstance(at, datetime):
            at_text = utc_now(at).isoformat()
        elif isinstance(at, str):
            try:
                # Python 3.10's fromisoformat does not read a "Z" suffix.
                iso = at[:-1] + "+00:00" if at.endswith(("Z", "z")) else at
                at_text = utc_now(datetime.fromisoformat(iso)).isoformat()
            except (ValueError, RecordsValidationError) as exc:
                raise RecordsValidationError(
                    f"transcript[{index}].at must be an aware ISO 8601 timestamp"
                ) from exc
        else:
            raise RecordsValidationError(f"transcript[{index}].at must be a datetime or string")
        cleaned.append({"role": role or "", "text": text, "at": at_text})
    return cleaned


# --------------------------------------------------------------------- accounts


def _get_account(session: Session, account_id: int) -> FundAccount:
    account = session.get(FundAccount, account_id)
    if account is None:
        raise RecordNotFoundError(f"fund account id {account_id} does not exist")
    return account


def arrears_months(account: FundAccount, today: date) -> tuple[int, date | None]:
    """Months of contributions missing for a normal account, and the first of them.

    Month M is expected to be paid up once month M+1 has begun, so on
    2026-11-27 an account should be paid up to 2026-10. Sealed and closed
    accounts owe nothing.
    """
    if account.status != AccountStatus.normal:
        return 0, None
    expected = add_months(first_of_month(today), -1)
    if account.paid_up_month is None:
        first_missing = first_of_month(account.opened_on)
    else:
        first_missing = add_months(account.paid_up_month, 1)
    if first_missing > expected:
        return 0, None
    return months_between(first_missing, expected) + 1, first_missing


def account_overview(
    session: Session, account_id: int, *, today: date | None = None
) -> dict[str, Any]:
    """Everything a balance answer needs.

    Keys: ``account_number``, ``masked_account``, ``masked_card``,
    ``depositor_name``, ``employer_name``, ``status`` (normal/sealed/closed),
    ``balance``, ``monthly_deposit``, ``base``, ``employee_rate``,
    ``employer_rate``, ``paid_up_month``, ``opened_on``,
    ``last_contributions`` (newest first, up to 3: ``month``,
    ``employee_part``, ``employer_part``, ``total``, ``paid_on``),
    ``arrears_months`` and ``arrears_since`` (first unpaid month or None).
    """
    account = _get_account(session, account_id)
    today = today or shanghai_date()
    contributions = session.scalars(
        select(ContributionRecord)
        .where(ContributionRecord.account_id == account.id)
        .order_by(ContributionRecord.month.desc())
        .limit(LAST_CONTRIBUTIONS)
    ).all()
    owed, since = arrears_months(account, today)
    return {
        "account_id": account.id,
        "account_number": account.account_number,
        "masked_account": mask_account(account.account_number),
        "masked_card": mask_card(account.card_number) if account.card_number else None,
        "depositor_name": account.depositor.name,
        "employer_name": account.employer.name if account.employer else None,
        "status": account.status.value,
        "balance": account.balance,
        "monthly_deposit": account.monthly_deposit,
        "base": account.base,
        "employee_rate": account.employee_rate,
        "employer_rate": account.employer_rate,
        "paid_up_month": account.paid_up_month,
        "opened_on": account.opened_on,
        "last_contributions": [
            {
                "month": record.month,
                "employee_part": record.employee_part,
                "employer_part": record.employer_part,
                "total": record.employee_part + record.employer_part,
                "paid_on": record.paid_on,
            }
            for record in contributions
        ],
        "arrears_months": owed,
        "arrears_since": since,
    }


# ------------------------------------------------------------------------ loans


def loan_overview(
    session: Session, account_id: int, *, today: date | None = None
) -> dict[str, Any] | None:
    """The account's current loan (or, failing that, its latest settled one).

    None when the account never had a loan. Keys: ``loan_number``, ``status``,
    ``settled``, ``principal``, ``remaining_principal``, ``annual_rate``,
    ``term_months``, ``start_date``, ``end_date``, ``monthly_payment``,
    ``next_due_date`` and ``next_due_amount`` (the next instalment not yet
    due; None when nothing is left to pay), ``overdue_amount``,
    ``overdue_periods``, ``paid_periods``, ``remaining_periods`` (unpaid
    instalments, overdue ones included).
    """
    _get_account(session, account_id)
    today = today or shanghai_date()
    loans = session.scalars(
        select(Loan)
        .where(Loan.account_id == account_id)
        .order_by(Loan.start_date.desc(), Loan.id.desc())
    ).all()
    if not loans:
        return None
    current = [loan for loan in loans if loan.status != LoanStatus.settled]
    loan = current[0] if current else loans[0]
    settled = loan.status == LoanStatus.settled

    next_installment = None
    if not settled:
        next_installment = session.scalar(
            select(LoanInstallment)
            .where(
                LoanInstallment.loan_id == loan.id,
                LoanInstallment.paid_on.is_(None),
                LoanInstallment.due_date >= today,
            )
            .order_by(LoanInstallment.due_date)
            .limit(1)
        )
    paid_periods = session.scalar(
        select(func.count(LoanInstallment.id)).where(
            LoanInstallment.loan_id == loan.id, LoanInstallment.paid_on.is_not(None)
        )
    ) or 0
    unpaid_periods = session.scalar(
        select(func.count(LoanInstallment.id)).where(
            LoanInstallment.loan_id == loan.id, LoanInstallment.paid_on.is_(None)
        )
    ) or 0
    end_date = session.scalar(
        select(func.max(LoanInstallment.due_date)).where(LoanInstallment.loan_id == loan.id)
    )
    return {
        "loan_number": loan.loan_number,
        "status": loan.status.value,
        "settled": settled,
        "principal": loan.principal,
        "remaining_principal": loan.remaining_principal,
        "annual_rate": loan.annual_rate,
        "term_months": loan.term_months,
        "start_date": loan.start_date,
        "end_date": end_date,
        "monthly_payment": loan.monthly_payment,
        "next_due_date": next_installment.due_date if next_installment else None,
        "next_due_amount": (
            next_installment.principal + next_installment.interest if next_installment else None
        ),
        "overdue_amount": loan.overdue_amount,
        "overdue_periods": loan.overdue_periods,
        "paid_periods": paid_periods,
        "remaining_periods": 0 if settled else unpaid_periods,
    }


# ------------------------------------------------------------------ withdrawals


def withdrawal_overview(
    session: Session, account_id: int, *, limit: int = LATEST_WITHDRAWALS
) -> dict[str, Any]:
    """Latest withdrawal applications and the active entrusted-withdrawal agreement.

    Keys: ``applications`` (newest first: ``application_number``, ``kind``,
    ``amount``, ``status``, ``applied_at``, ``paid_at``, ``reject_reason``),
    ``pending_count`` (submitted, reviewing or approved but not yet paid) and
    ``entrust_agreement`` (``signed_on``, ``kind``, ``next_transfer_date``) or None.
    """
    _get_account(session, account_id)
    applications = session.scalars(
        select(WithdrawalApplication)
        .where(WithdrawalApplication.account_id == account_id)
        .order_by(WithdrawalApplication.applied_at.desc(), WithdrawalApplication.id.desc())
        .limit(limit)
    ).all()
    pending = {WithdrawalStatus.submitted, WithdrawalStatus.reviewing, WithdrawalStatus.approved}
    pending_count = session.scalar(
        select(func.count(WithdrawalApplication.id)).where(
            WithdrawalApplication.account_id == account_id,
            WithdrawalApplication.status.in_(pending),
        )
    ) or 0
    agreement = session.scalar(
        select(EntrustAgreement)
        .where(
            EntrustAgreement.account_id == account_id,
            EntrustAgreement.status == AgreementStatus.active,
        )
        .order_by(EntrustAgreement.signed_on.desc(), EntrustAgreement.id.desc())
        .limit(1)
    )
    return {
        "applications": [
            {
                "application_number": item.application_number,
                "kind": item.kind.value,
                "amount": item.amount,
                "status": item.status.value,
                "applied_at": item.applied_at,
                "paid_at": item.paid_at,
                "reject_reason": item.reject_reason,
            }
            for item in applications
        ],
        "pending_count": pending_count,
        "entrust_agreement": (
            {
                "signed_on": agreement.signed_on,
                "kind": agreement.kind.value,
                "next_transfer_date": agreement.next_transfer_date,
            }
            if agreement
            else None
        ),
    }


# ------------------------------------------------------------------- complaints


def _find_by_key(session: Session, idempotency_key: str) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.idempotency_key == idempotency_key))


def _next_ticket_id(session: Session, day: date) -> str:
    prefix = "TS" + day.strftime("%y%m%d")
    highest = session.scalar(
        select(func.max(Complaint.ticket_id)).where(Complaint.ticket_id.like(prefix + "%"))
    )
    sequence = int(highest[len(prefix):]) + 1 if highest else 1
    if sequence > 9999:
        raise TicketAllocationError(f"all 9999 ticket numbers of {day.isoformat()} are used")
    return f"{prefix}{sequence:04d}"


def create_complaint(
    session: Session,
    *,
    idempotency_key: str,
    category: ComplaintCategory | str,
    channel: Channel | str,
    description: str,
    location: str | None = None,
    staff_number: str | None = None,
    contact_phone: str | None = None,
    conversation_id: str | None = None,
    transcript: Sequence[Mapping[str, Any]] | None = None,
    now: datetime | None = None,
) -> tuple[Complaint, bool]:
    """File a complaint exactly once per ``idempotency_key``.

    Returns ``(complaint, True)`` for a new ticket and ``(existing, False)``
    when the key was seen before, also when another transaction files it at
    the same moment: the insert runs in a SAVEPOINT, a unique violation rolls
    back only that, and the row is read again. A ticket number taken by a
    concurrent filing is retried with the next sequence. The due date is
    ``COMPLAINT_REPLY_WORKING_DAYS`` working days after the filing date in
    Chengdu; a "created" event starts the audit trail.
    """
    key = _text(idempotency_key, "idempotency_key", MAX_IDEMPOTENCY_KEY_LENGTH, required=True)
    assert key is not None
    category_code = _enum_value(ComplaintCategory, category, "category")
    channel_code = _enum_value(Channel, channel, "channel")
    description_text = _text(description, "description", MAX_DESCRIPTION_LENGTH, required=True)
    location_text = _text(location, "location", MAX_LOCATION_LENGTH)
    staff = _text(staff_number, "staff_number", MAX_STAFF_NUMBER_LENGTH)
    if staff is not None and not _STAFF_NUMBER_RE.fullmatch(staff):
        raise RecordsValidationError("staff_number may hold only letters, digits and '-'")
    phone = _phone(contact_phone, "contact_phone", required=False)
    conversation = _text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH)
    turns = _transcript(transcript)
    now = utc_now(now)

    existing = _find_by_key(session, key)
    if existing is not None:
        return existing, False

    filed_on = shanghai_date(now)
    due = add_working_days(filed_on, COMPLAINT_REPLY_WORKING_DAYS)
    for _attempt in range(TICKET_ALLOCATION_ATTEMPTS):
        ticket_id = _next_ticket_id(session, filed_on)
        complaint = Complaint(
            ticket_id=ticket_id,
            category=category_code,
            channel=channel_code,
            description=description_text,
            location=location_text,
            staff_number=staff,
            contact_phone=phone,
            status=ComplaintStatus.accepted,
            owner=None,
            due_date=due,
            reply=None,
            transcript=turns,
            conversation_id=conversation,
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
                session.add(
                    ComplaintEvent(
                        complaint_id=complaint.id,
                        at=now,
                        actor="assistant",
                        action="created",
                        detail=f"channel={channel_code.value} category={category_code.value}",
                    )
                )
                session.flush()
        except IntegrityError:
            existing = _find_by_key(session, key)
            if existing is not None:
                logger.info("complaint %s already filed for this key", existing.ticket_id)
                return existing, False
            logger.info("ticket %s taken concurrently; allocating the next one", ticket_id)
            continue
        logger.info("complaint %s filed (channel=%s)", ticket_id, channel_code.value)
        return complaint, True
    raise TicketAllocationError(
        f"no free ticket number after {TICKET_ALLOCATION_ATTEMPTS} attempts "
        f"on {filed_on.isoformat()}"
    )


def find_complaint(session: Session, ticket_id: str) -> Complaint | None:
    """The complaint with this ticket (``TS…`` or just its 10 digits), or None."""
    normalized = normalize_ticket_id(ticket_id) if isinstance(ticket_id, str) else None
    if normalized is None:
        return None
    return session.scalar(select(Complaint).where(Complaint.ticket_id == normalized))


# ------------------------------------------- ratings, hand-overs and requests


def record_rating(
    session: Session,
    *,
    conversation_id: str,
    channel: Channel | str,
    score: int,
    comment: str | None = None,
    now: datetime | None = None,
) -> Rating:
    """Store a 1–5 rating given at the end of a conversation."""
    conversation = _text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH,
                         required=True)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise RecordsValidationError(f"score must be an integer from 1 to 5, got {score!r}")
    rating = Rating(
        conversation_id=conversation,
        channel=_enum_value(Channel, channel, "channel"),
        score=score,
        comment=_text(comment, "comment", MAX_COMMENT_LENGTH),
        created_at=utc_now(now),
    )
    session.add(rating)
    session.flush()
    return rating


def record_handover(
    session: Session,
    *,
    conversation_id: str,
    channel: Channel | str,
    reason: str,
    intent_path: str | None = None,
    masked_account: str | None = None,
    context: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Handover:
    """Open a hand-over to a person with what the assistant knew.

    ``reason`` is a code (``user_request``, ``no_match_twice``, ``backend_error``…).
    An unmasked account number given as ``masked_account`` is masked here.
    """
    conversation = _text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH,
                         required=True)
    masked = _text(masked_account, "masked_account", 24)
    if masked is not None and "*" not in masked:
        masked = mask_account(masked)
    context_data = dict(context or {})
    _json_size(context_data, "context", MAX_CONTEXT_JSON_LENGTH)
    handover = Handover(
        conversation_id=conversation,
        channel=_enum_value(Channel, channel, "channel"),
        reason=_reason_code(reason, "reason"),
        intent_path=_text(intent_path, "intent_path", MAX_INTENT_PATH_LENGTH),
        masked_account=masked,
        context=context_data,
        status=HandoverStatus.open,
        created_at=utc_now(now),
    )
    session.add(handover)
    session.flush()
    return handover


def record_callback(
    session: Session,
    *,
    conversation_id: str | None,
    channel: Channel | str,
    phone: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> CallbackRequest:
    """Ask staff to call a person back."""
    callback = CallbackRequest(
        conversation_id=_text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH),
        channel=_enum_value(Channel, channel, "channel"),
        phone=_phone(phone, "phone", required=True),
        reason=_text(reason, "reason", MAX_CALLBACK_REASON_LENGTH),
        status=CallbackStatus.open,
        created_at=utc_now(now),
        done_at=None,
    )
    session.add(callback)
    session.flush()
    return callback


def record_onsite_request(
    session: Session,
    *,
    employer_name: str,
    contact_name: str,
    phone: str,
    headcount: int,
    preferred_time: str | None = None,
    note: str | None = None,
    conversation_id: str | None = None,
    channel: Channel | str | None = None,
    now: datetime | None = None,
) -> OnsiteRequest:
    """Record an employer's request for on-site service (上门服务)."""
    if isinstance(headcount, bool) or not isinstance(headcount, int) or not (
        1 <= headcount <= MAX_HEADCOUNT
    ):
        raise RecordsValidationError(
            f"headcount must be an integer from 1 to {MAX_HEADCOUNT}, got {headcount!r}"
        )
    request = OnsiteRequest(
        employer_name=_text(employer_name, "employer_name", MAX_EMPLOYER_NAME_LENGTH,
                            required=True),
        contact_name=_text(contact_name, "contact_name", MAX_CONTACT_NAME_LENGTH, required=True),
        phone=_phone(phone, "phone", required=True),
        headcount=headcount,
        preferred_time=_text(preferred_time, "preferred_time", MAX_PREFERRED_TIME_LENGTH),
        note=_text(note, "note", MAX_NOTE_LENGTH),
        status=OnsiteStatus.open,
        conversation_id=_text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH),
        channel=_enum_value(Channel, channel, "channel") if channel is not None else None,
        created_at=utc_now(now),
    )
    session.add(request)
    session.flush()
    return request
