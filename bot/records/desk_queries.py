"""What the complaint desk reads and changes: staff, sessions, complaints, queues, figures.

Like the other records modules, every function takes the session first and
leaves the transaction to the caller. Functions that change something take the
acting :class:`~bot.records.staff_models.StaffUser` (``actor``), check that this
person may do it, and record who did what and when: complaint changes as
:class:`~bot.records.service_models.ComplaintEvent`, everything else as
:class:`~bot.records.staff_models.DeskAuditEvent`. A refused change raises a
:class:`DeskError` whose ``code`` the desk shows as a Chinese message; nothing
is written in that case.

Staff passwords are hashed by :mod:`bot.records.passwords` (argon2id); the
plain password lives only in the function call.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.records.account_models import AuthSession
from bot.records.base import Channel
from bot.records.clock import SHANGHAI, shanghai_date, utc_now
from bot.records.identifiers import normalize_ticket_id
from bot.records.passwords import (
    burn_verification_time,
    hash_staff_password,
    needs_rehash,
    verify_password,
)
from bot.records.service_models import (
    CallbackRequest,
    CallbackStatus,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    Handover,
    HandoverStatus,
    Rating,
)
from bot.records.staff_models import (
    DeskAuditEvent,
    StaffLoginFailure,
    StaffRole,
    StaffSession,
    StaffUser,
)

# ----------------------------------------------------------------- limits

MAX_REPLY_LENGTH = 2000
MAX_NOTE_LENGTH = 1000
MAX_REOPEN_REASON_LENGTH = 500
MAX_CALLBACK_RESULT_LENGTH = 200
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
MAX_DISPLAY_NAME_LENGTH = 50
SESSION_MAX_HOURS = 12
SESSION_TOUCH_SECONDS = 30
IP_FAILURE_LIMIT = 30
PAGE_SIZE = 50
MAX_EXPORT_DAYS = 366
MAX_OVERVIEW_DAYS = 92

_USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,49}$")
_COMMON_PASSWORDS = frozenset(
    {
        "123456789012", "1234567890ab", "password1234", "passw0rd1234", "qwertyuiop12",
        "qwertyuiopas", "abc123456789", "aaaaaaaaaaaa", "111111111111", "000000000000",
        "iloveyou1234", "admin1234567", "administrator", "welcome12345", "zhimakaimen1",
        "woaini1314520", "woaini123456", "96319963199631", "963199631996",
    }
)

Actor = StaffUser | None  # None: the command line (create_supervisor)


class DeskError(Exception):
    """A desk request refused on purpose; ``code`` names the reason for the UI."""

    status = 400

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class DeskValidationError(DeskError):
    """Bad input: empty, too long, malformed."""


class DeskPermissionError(DeskError):
    """The actor's role or ownership does not allow this."""

    status = 403


class DeskConflictError(DeskError):
    """The record is not in a state that allows this (e.g. a lifecycle move)."""

    status = 409


class DeskNotFoundError(DeskError):
    """The named record does not exist."""

    status = 404


# ------------------------------------------------------- password policy


def password_problems(password: object, username: str = "") -> list[str]:
    """Codes of what is wrong with a new staff password (empty list: acceptable).

    Length counts most (NIST SP 800-63B): 12 to 128 characters, not the user
    name, not one repeated character, not a well-known password.
    """
    if not isinstance(password, str) or not password:
        return ["password_required"]
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append("password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append("password_too_long")
    lowered = password.lower()
    if username and username.lower() in lowered:
        problems.append("password_contains_username")
    if len(set(password)) <= 2 or lowered in _COMMON_PASSWORDS:
        problems.append("password_too_common")
    return problems


def temporary_password() -> str:
    """A random first password a supervisor hands over (must be changed at first log-in)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


# ------------------------------------------------------------- validation


def normalize_username(value: object) -> str | None:
    """Lower-case ASCII user name (3–50 of a-z 0-9 . _ -, starting with a letter) or None."""
    if not isinstance(value, str):
        return None
    candidate = value.strip().lower()
    return candidate if _USERNAME_RE.fullmatch(candidate) else None


def _clean_text(value: object, *, max_length: int, code: str, required: bool = True) -> str:
    """Stripped text without control characters (newlines and tabs are kept)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DeskValidationError(f"{code}_required")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    if required and not text:
        raise DeskValidationError(f"{code}_required")
    if len(text) > max_length:
        raise DeskValidationError(f"{code}_too_long", limit=max_length, length=len(text))
    return text


def _display_name(value: object) -> str:
    text = _clean_text(value, max_length=MAX_DISPLAY_NAME_LENGTH, code="display_name")
    if "\n" in text or "\t" in text:
        raise DeskValidationError("display_name_invalid")
    return text


def _role(value: StaffRole | str) -> StaffRole:
    try:
        return StaffRole(value)
    except ValueError as exc:
        raise DeskValidationError("role_invalid") from exc


def _require_supervisor(actor: Actor) -> None:
    if actor is not None and actor.role is not StaffRole.supervisor:
        raise DeskPermissionError("supervisor_only")


def _actor_name(actor: Actor) -> str:
    return actor.username if actor is not None else "cli"


def audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | int | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> DeskAuditEvent:
    """Record one staff action that is not a complaint change."""
    event = DeskAuditEvent(
        at=utc_now(now),
        staff_id=actor.id if actor is not None else None,
        actor=_actor_name(actor),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


# ------------------------------------------------------------------ staff


def get_staff(session: Session, username: str) -> StaffUser | None:
    normalized = normalize_username(username)
    if normalized is None:
        return None
    return session.scalar(select(StaffUser).where(StaffUser.username == normalized))


def list_staff(session: Session, *, active_only: bool = False) -> list[StaffUser]:
    query = select(StaffUser).order_by(StaffUser.role.desc(), StaffUser.username)
    if active_only:
        query = query.where(StaffUser.active.is_(True))
    return list(session.scalars(query))


def create_staff(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: StaffRole | str,
    password: str,
    must_change_password: bool,
    now: datetime | None = None,
) -> StaffUser:
    """Create a staff account (supervisors only; ``actor=None`` is the command line)."""
    _require_supervisor(actor)
    normalized = normalize_username(username)
    if normalized is None:
        raise DeskValidationError("username_invalid")
    name = _display_name(display_name)
    staff_role = _role(role)
    problems = password_problems(password, normalized)
    if problems:
        raise DeskValidationError(problems[0], problems=problems)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == normalized)):
        raise DeskConflictError("username_taken")
    now = utc_now(now)
    staff = StaffUser(
        username=normalized,
        display_name=name,
        role=staff_role,
        password_hash=hash_staff_password(password),
        active=True,
        must_change_password=must_change_password,
        failed_logins=0,
        locked_until=None,
        last_login_at=None,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(staff)
    session.flush()
    audit(session, actor, "staff_created", target_type="staff", target_id=normalized,
          detail=f"role={staff_role.value}", now=now)
    return staff


def _staff_target(session: Session, actor: Actor, username: str) -> StaffUser:
    _require_supervisor(actor)
    target = get_staff(session, username)
    if target is None:
        raise DeskNotFoundError("staff_not_found")
    if actor is not None and target.id == actor.id:
        raise DeskConflictError("not_on_yourself")
    return target


def revoke_staff_sessions(session: Session, staff_id: int) -> int:
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked.is_(False))
        .values(revoked=True)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_staff_active(
    session: Session, actor: Actor, username: str, active: bool, *, now: datetime | None = None
) -> StaffUser:
    """Disable (ending every session) or re-enable an account. Not one's own."""
    target = _staff_target(session, actor, username)
    now = utc_now(now)
    if target.active == active:
        raise DeskConflictError("no_change")
    target.active = active
    target.updated_at = now
    if not active:
        revoke_staff_sessions(session, target.id)
    audit(session, actor, "staff_enabled" if active else "staff_disabled",
          target_type="staff", target_id=target.username, now=now)
    return target


def set_staff_role(
    session: Session, actor: Actor, username: str, role: StaffRole | str, *,
    now: datetime | None = None,
) -> StaffUser:
    target = _staff_target(session, actor, username)
    new_role = _role(role)
    if target.role is new_role:
        raise DeskConflictError("no_change")
    now = utc_now(now)
    old = target.role
    target.role = new_role
    target.updated_at = now
    audit(session, actor, "staff_role_changed", target_type="staff", target_id=target.username,
          detail=f"{old.value}->{new_role.value}", now=now)
    return target


def unlock_staff(
    session: Session, actor: Actor, username: str, *, now: datetime | None = None
) -> StaffUser:
    target = _staff_target(session, actor, username)
    now = utc_now(now)
    target.failed_logins = 0
    target.locked_until = None
    target.updated_at = now
    audit(session, actor, "staff_unlocked", target_type="staff", target_id=target.username,
          now=now)
    return target


def reset_staff_password(
    session: Session, actor: Actor, username: str, *, now: datetime | None = None
) -> tuple[StaffUser, str]:
    """Give the account a new random temporary password; returns it (shown once)."""
    target = _staff_target(session, actor, username)
    now = utc_now(now)
    password = temporary_password()
    target.password_hash = hash_staff_password(password)
    target.must_change_password = True
    target.password_changed_at = now
    target.failed_logins = 0
    target.locked_until = None
    target.updated_at = now
    revoke_staff_sessions(session, target.id)
    audit(session, actor, "staff_password_reset", target_type="staff",
          target_id=target.username, now=now)
    return target, password


def change_own_password(
    session: Session,
    staff: StaffUser,
    *,
    current: str,
    new: str,
    repeat: str,
    keep_token_hash: str | None = None,
    now: datetime | None = None,
) -> None:
    """Change one's own password; every other session of the account ends."""
    if not verify_password(staff.password_hash, current):
        raise DeskValidationError("current_password_wrong")
    if new != repeat:
        raise DeskValidationError("passwords_differ")
    problems = password_problems(new, staff.username)
    if problems:
        raise DeskValidationError(problems[0], problems=problems)
    if verify_password(staff.password_hash, new):
        raise DeskValidationError("password_unchanged")
    now = utc_now(now)
    staff.password_hash = hash_staff_password(new)
    staff.must_change_password = False
    staff.password_changed_at = now
    staff.updated_at = now
    query = update(StaffSession).where(
        StaffSession.staff_id == staff.id, StaffSession.revoked.is_(False)
    )
    if keep_token_hash:
        query = query.where(StaffSession.token_hash != keep_token_hash)
    session.execute(query.values(revoked=True))
    audit(session, staff, "password_changed", target_type="staff", target_id=staff.username,
          now=now)


# ---------------------------------------------------------------- log-in

LoginOutcome = Literal["ok", "invalid", "locked", "throttled"]


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    staff: StaffUser | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def username_hash(username: str, secret_key: str) -> str:
    """Keyed hash of the user name as typed (stored for failures instead of the text)."""
    message = ("desk-username\x1f" + username.strip().lower()[:200]).encode("utf-8")
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def authenticate_staff(
    session: Session,
    *,
    username: object,
    password: object,
    remote_addr: str | None,
    secret_key: str,
    max_failures: int = 5,
    lockout_minutes: int = 15,
    now: datetime | None = None,
) -> LoginResult:
    """Check a desk log-in and record its outcome (the caller commits).

    After ``max_failures`` wrong passwords in a row the account is locked for
    ``lockout_minutes`` (a correct password does not open it then). Unknown
    user names are locked out the same way by their failures in the last
    ``lockout_minutes``, so the answer does not tell which names exist. More
    than :data:`IP_FAILURE_LIMIT` failures from one address in that window
    stop every attempt from it.
    """
    now = utc_now(now)
    typed = username if isinstance(username, str) else ""
    name_hash = username_hash(typed, secret_key)
    window_start = now - timedelta(minutes=lockout_minutes)
    address = (remote_addr or "")[:45] or None

    def fail(reason: str, staff: StaffUser | None) -> None:
        session.add(StaffLoginFailure(username_hash=name_hash, staff_id=staff.id if staff else None,
                                      remote_addr=address, at=now, reason=reason))
        session.flush()

    if address is not None:
        from_address = session.scalar(
            select(func.count(StaffLoginFailure.id)).where(
                StaffLoginFailure.remote_addr == address, StaffLoginFailure.at >= window_start
            )
        ) or 0
        if from_address >= IP_FAILURE_LIMIT:
            burn_verification_time(password)
            fail("throttled", None)
            return LoginResult("throttled")

    normalized = normalize_username(typed)
    staff = (
        session.scalar(
            select(StaffUser).where(StaffUser.username == normalized).with_for_update()
        )
        if normalized
        else None
    )
    if staff is None or not staff.active:
        burn_verification_time(password)
        recent = session.scalar(
            select(func.count(StaffLoginFailure.id)).where(
                StaffLoginFailure.username_hash == name_hash, StaffLoginFailure.at >= window_start
            )
        ) or 0
        fail("unknown_user" if staff is None else "inactive", staff)
        if recent + 1 >= max_failures:
            return LoginResult("locked", locked_until=now + timedelta(minutes=lockout_minutes))
        return LoginResult("invalid")

    if staff.locked_until is not None and staff.locked_until > now:
        burn_verification_time(password)
        fail("locked", staff)
        return LoginResult("locked", locked_until=staff.locked_until)

    if not verify_password(staff.password_hash, password):
        staff.failed_logins += 1
        fail("wrong_password", staff)
        if staff.failed_logins >= max_failures:
            staff.locked_until = now + timedelta(minutes=lockout_minutes)
            staff.failed_logins = 0
            audit(session, None, "staff_locked", target_type="staff", target_id=staff.username,
                  detail=f"after {max_failures} failed log-ins", now=now)
            return LoginResult("locked", locked_until=staff.locked_until)
        return LoginResult("invalid")

    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    if needs_rehash(staff.password_hash) and isinstance(password, str):
        staff.password_hash = hash_staff_password(password)
    session.flush()
    return LoginResult("ok", staff=staff)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_staff_session(
    session: Session, staff: StaffUser, *, remote_addr: str | None, now: datetime | None = None
) -> str:
    """Open a session; returns the random token for the cookie (only its hash is kept)."""
    now = utc_now(now)
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_id=staff.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=SESSION_MAX_HOURS),
            revoked=False,
            remote_addr=(remote_addr or "")[:45] or None,
        )
    )
    audit(session, staff, "login", detail=(remote_addr or "")[:45] or None, now=now)
    return token


SessionProblem = Literal["missing", "expired", "revoked", "inactive"]


@dataclass(frozen=True)
class SessionCheck:
    staff: StaffUser | None
    problem: SessionProblem | None = None
    token_hash: str | None = None


def resolve_staff_session(
    session: Session, token: object, *, idle_minutes: int, now: datetime | None = None
) -> SessionCheck:
    """The logged-in staff member for a cookie token, refreshing its idle timer."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return SessionCheck(None, "missing")
    now = utc_now(now)
    hashed = _token_hash(token)
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == hashed))
    if row is None:
        return SessionCheck(None, "missing")
    if row.revoked:
        return SessionCheck(None, "revoked")
    if row.expires_at <= now or row.last_seen_at + timedelta(minutes=idle_minutes) <= now:
        row.revoked = True
        session.flush()
        return SessionCheck(None, "expired")
    staff = session.get(StaffUser, row.staff_id)
    if staff is None or not staff.active:
        row.revoked = True
        session.flush()
        return SessionCheck(None, "inactive")
    if (now - row.last_seen_at).total_seconds() >= SESSION_TOUCH_SECONDS:
        row.last_seen_at = now
        session.flush()
    return SessionCheck(staff, None, hashed)


def end_staff_session(session: Session, token: object, *, now: datetime | None = None) -> None:
    """Log out: the session can never be used again."""
    if not isinstance(token, str) or not token:
        return
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
    if row is None or row.revoked:
        return
    row.revoked = True
    staff = session.get(StaffUser, row.staff_id)
    audit(session, staff, "logout", now=now)


# ------------------------------------------------------------- complaints

OPEN_STATUSES = (ComplaintStatus.accepted, ComplaintStatus.in_progress)


def is_overdue(complaint: Complaint, today: date) -> bool:
    """Past its reply deadline and not yet 已办结 (due today is still on time)."""
    return complaint.status is not ComplaintStatus.closed and complaint.due_date < today


@dataclass(frozen=True)
class ComplaintFilters:
    status: ComplaintStatus | None = None
    category: ComplaintCategory | None = None
    channel: Channel | None = None
    owner: str | None = None  # a user name, or "" for "no owner yet"
    overdue: bool = False
    ticket: str | None = None


def list_complaints(
    session: Session,
    filters: ComplaintFilters,
    *,
    today: date | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list[Complaint], int]:
    """Complaints matching ``filters``: open ones first by deadline, then closed, newest first."""
    today = today or shanghai_date()
    query = select(Complaint)
    if filters.status is not None:
        query = query.where(Complaint.status == filters.status)
    if filters.category is not None:
        query = query.where(Complaint.category == filters.category)
    if filters.channel is not None:
        query = query.where(Complaint.channel == filters.channel)
    if filters.owner is not None:
        query = query.where(
            Complaint.owner.is_(None) if filters.owner == "" else Complaint.owner == filters.owner
        )
    if filters.overdue:
        query = query.where(
            Complaint.status != ComplaintStatus.closed, Complaint.due_date < today
        )
    if filters.ticket:
        query = query.where(Complaint.ticket_id == filters.ticket)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    closed_last = (Complaint.status == ComplaintStatus.closed)
    rows = session.scalars(
        query.order_by(
            closed_last,
            Complaint.due_date,
            Complaint.created_at.desc(),
            Complaint.id.desc(),
        )
        .limit(page_size)
        .offset(max(page - 1, 0) * page_size)
    ).all()
    return list(rows), int(total)


def get_complaint(session: Session, ticket_id: str, *, for_update: bool = False) -> Complaint:
    normalized = normalize_ticket_id(ticket_id) if isinstance(ticket_id, str) else None
    if normalized is None:
        raise DeskNotFoundError("complaint_not_found")
    query = select(Complaint).where(Complaint.ticket_id == normalized)
    if for_update:
        query = query.with_for_update()
    complaint = session.scalar(query)
    if complaint is None:
        raise DeskNotFoundError("complaint_not_found")
    return complaint


def complaint_events(session: Session, complaint: Complaint) -> list[ComplaintEvent]:
    return list(
        session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .order_by(ComplaintEvent.at, ComplaintEvent.id)
        )
    )


def _event(
    session: Session, complaint: Complaint, actor: StaffUser, action: str, detail: str | None,
    now: datetime,
) -> None:
    session.add(
        ComplaintEvent(complaint_id=complaint.id, at=now, actor=actor.username, action=action,
                       detail=detail)
    )


def _changed(session: Session, complaint: Complaint, now: datetime) -> None:
    complaint.updated_at = now
    session.flush()


def _may_work(actor: StaffUser, complaint: Complaint) -> None:
    """The owner works the case; a supervisor may step in on any case."""
    if actor.role is StaffRole.supervisor:
        return
    if complaint.owner != actor.username:
        raise DeskPermissionError("not_owner")


def take_complaint(
    session: Session, actor: StaffUser, ticket_id: str, *, now: datetime | None = None
) -> Complaint:
    """Take an open case that has no owner yet (首问负责: the taker owns it)."""
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is ComplaintStatus.closed:
        raise DeskConflictError("complaint_closed")
    if complaint.owner == actor.username:
        raise DeskConflictError("already_yours")
    if complaint.owner is not None:
        raise DeskConflictError("already_owned", owner=complaint.owner)
    now = utc_now(now)
    complaint.owner = actor.username
    _event(session, complaint, actor, "taken", None, now)
    _changed(session, complaint, now)
    return complaint


def assign_complaint(
    session: Session, actor: StaffUser, ticket_id: str, assignee: str, *,
    now: datetime | None = None,
) -> Complaint:
    """Give a case to a colleague.

    Anyone may assign a case that has no owner; moving a case from its owner
    to someone else (改派) is for supervisors.
    """
    complaint = get_complaint(session, ticket_id, for_update=True)
    target = get_staff(session, assignee)
    if target is None or not target.active:
        raise DeskValidationError("assignee_invalid")
    if complaint.status is ComplaintStatus.closed:
        raise DeskConflictError("complaint_closed")
    if complaint.owner == target.username:
        raise DeskConflictError("no_change")
    now = utc_now(now)
    if complaint.owner is None:
        action, detail = "assigned", target.username
    else:
        if actor.role is not StaffRole.supervisor:
            raise DeskPermissionError("supervisor_only")
        action, detail = "reassigned", f"{complaint.owner} -> {target.username}"
    complaint.owner = target.username
    _event(session, complaint, actor, action, detail, now)
    _changed(session, complaint, now)
    return complaint


def start_complaint(
    session: Session, actor: StaffUser, ticket_id: str, *, now: datetime | None = None
) -> Complaint:
    """已受理 → 处理中. An unowned case becomes the actor's."""
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is not ComplaintStatus.accepted:
        raise DeskConflictError("transition_not_allowed")
    now = utc_now(now)
    if complaint.owner is None:
        complaint.owner = actor.username
        _event(session, complaint, actor, "taken", None, now)
    else:
        _may_work(actor, complaint)
    complaint.status = ComplaintStatus.in_progress
    _event(session, complaint, actor, "started", "accepted -> in_progress", now)
    _changed(session, complaint, now)
    return complaint


def close_complaint(
    session: Session, actor: StaffUser, ticket_id: str, reply: object, *,
    now: datetime | None = None,
) -> Complaint:
    """处理中 → 已办结 with the reply given to the depositor (1–2000 characters)."""
    text = _clean_text(reply, max_length=MAX_REPLY_LENGTH, code="reply")
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is not ComplaintStatus.in_progress:
        raise DeskConflictError("transition_not_allowed")
    _may_work(actor, complaint)
    now = utc_now(now)
    complaint.status = ComplaintStatus.closed
    complaint.reply = text
    _event(session, complaint, actor, "closed", text, now)
    _changed(session, complaint, now)
    return complaint


def reopen_complaint(
    session: Session, actor: StaffUser, ticket_id: str, reason: object, *,
    now: datetime | None = None,
) -> Complaint:
    """已办结 → 处理中, supervisors only, with the reason."""
    if actor.role is not StaffRole.supervisor:
        raise DeskPermissionError("supervisor_only")
    text = _clean_text(reason, max_length=MAX_REOPEN_REASON_LENGTH, code="reopen_reason")
    complaint = get_complaint(session, ticket_id, for_update=True)
    if complaint.status is not ComplaintStatus.closed:
        raise DeskConflictError("transition_not_allowed")
    now = utc_now(now)
    complaint.status = ComplaintStatus.in_progress
    _event(session, complaint, actor, "reopened", text, now)
    _changed(session, complaint, now)
    return complaint


def add_complaint_note(
    session: Session, actor: StaffUser, ticket_id: str, note: object, *,
    now: datetime | None = None,
) -> Complaint:
    """An internal working note (处理记录) on the case; any staff member."""
    text = _clean_text(note, max_length=MAX_NOTE_LENGTH, code="note")
    complaint = get_complaint(session, ticket_id, for_update=True)
    now = utc_now(now)
    _event(session, complaint, actor, "note", text, now)
    _changed(session, complaint, now)
    return complaint


def reveal_complaint_contact(
    session: Session, actor: StaffUser, ticket_id: str, *, now: datetime | None = None
) -> str | None:
    """The full contact phone; the look is written into the complaint's audit trail."""
    complaint = get_complaint(session, ticket_id)
    _event(session, complaint, actor, "contact_revealed", None, utc_now(now))
    session.flush()
    return complaint.contact_phone


# ----------------------------------------------------- hand-overs, callbacks


def _latest_audit(
    session: Session, target_type: str, target_ids: Iterable[int], action: str
) -> dict[int, DeskAuditEvent]:
    ids = [str(value) for value in target_ids]
    if not ids:
        return {}
    rows = session.scalars(
        select(DeskAuditEvent)
        .where(
            DeskAuditEvent.target_type == target_type,
            DeskAuditEvent.target_id.in_(ids),
            DeskAuditEvent.action == action,
        )
        .order_by(DeskAuditEvent.at, DeskAuditEvent.id)
    )
    return {int(row.target_id): row for row in rows if row.target_id}


def list_handovers(
    session: Session, status: HandoverStatus | None, *, limit: int = 200
) -> list[tuple[Handover, DeskAuditEvent | None]]:
    """Hand-overs (newest first) with the event of who took each, if anyone."""
    query = select(Handover).order_by(Handover.created_at.desc(), Handover.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Handover.status == status)
    rows = list(session.scalars(query))
    taken = _latest_audit(session, "handover", (row.id for row in rows), "handover_taken")
    return [(row, taken.get(row.id)) for row in rows]


def _handover(session: Session, handover_id: int) -> Handover:
    row = session.scalar(select(Handover).where(Handover.id == handover_id).with_for_update())
    if row is None:
        raise DeskNotFoundError("handover_not_found")
    return row


def take_handover(
    session: Session, actor: StaffUser, handover_id: int, *, now: datetime | None = None
) -> Handover:
    row = _handover(session, handover_id)
    if row.status is not HandoverStatus.open:
        raise DeskConflictError("transition_not_allowed")
    row.status = HandoverStatus.taken
    audit(session, actor, "handover_taken", target_type="handover", target_id=row.id, now=now)
    return row


def finish_handover(
    session: Session, actor: StaffUser, handover_id: int, *, now: datetime | None = None
) -> Handover:
    """Mark done: the taker or a supervisor; an untaken one may be closed by anyone."""
    row = _handover(session, handover_id)
    if row.status is HandoverStatus.done:
        raise DeskConflictError("transition_not_allowed")
    if row.status is HandoverStatus.taken and actor.role is not StaffRole.supervisor:
        taker = _latest_audit(session, "handover", [row.id], "handover_taken").get(row.id)
        if taker is not None and taker.actor != actor.username:
            raise DeskPermissionError("not_owner")
    row.status = HandoverStatus.done
    audit(session, actor, "handover_done", target_type="handover", target_id=row.id, now=now)
    return row


def list_callbacks(
    session: Session, status: CallbackStatus | None, *, limit: int = 200
) -> list[tuple[CallbackRequest, DeskAuditEvent | None]]:
    """Callback requests (open: oldest first, the order to call back in)."""
    order = (
        (CallbackRequest.created_at, CallbackRequest.id)
        if status is CallbackStatus.open
        else (CallbackRequest.created_at.desc(), CallbackRequest.id.desc())
    )
    query = select(CallbackRequest).order_by(*order).limit(limit)
    if status is not None:
        query = query.where(CallbackRequest.status == status)
    rows = list(session.scalars(query))
    done = _latest_audit(session, "callback", (row.id for row in rows), "callback_done")
    return [(row, done.get(row.id)) for row in rows]


def _callback(session: Session, callback_id: int, *, for_update: bool = False) -> CallbackRequest:
    query = select(CallbackRequest).where(CallbackRequest.id == callback_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise DeskNotFoundError("callback_not_found")
    return row


def reveal_callback_phone(
    session: Session, actor: StaffUser, callback_id: int, *, now: datetime | None = None
) -> CallbackRequest:
    row = _callback(session, callback_id)
    audit(session, actor, "callback_phone_revealed", target_type="callback", target_id=row.id,
          now=now)
    return row


def finish_callback(
    session: Session, actor: StaffUser, callback_id: int, result: object, *,
    now: datetime | None = None,
) -> CallbackRequest:
    text = _clean_text(result, max_length=MAX_CALLBACK_RESULT_LENGTH, code="callback_result",
                       required=False)
    row = _callback(session, callback_id, for_update=True)
    if row.status is not CallbackStatus.open:
        raise DeskConflictError("transition_not_allowed")
    now = utc_now(now)
    row.status = CallbackStatus.done
    row.done_at = now
    audit(session, actor, "callback_done", target_type="callback", target_id=row.id,
          detail=text or None, now=now)
    return row


def list_audit(session: Session, *, limit: int = 200) -> list[DeskAuditEvent]:
    return list(
        session.scalars(
            select(DeskAuditEvent).order_by(DeskAuditEvent.at.desc(), DeskAuditEvent.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------- figures


def local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants of 00:00 Beijing time on ``start`` and on the day after ``end``."""
    begin = datetime.combine(start, time(0), tzinfo=SHANGHAI)
    finish = datetime.combine(end + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    return utc_now(begin), utc_now(finish)


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


@dataclass
class RecordsFigures:
    """What the records database says about a date range (Beijing dates, inclusive)."""

    start: date
    end: date
    complaints_by_category: dict[str, int] = field(default_factory=dict)
    complaints_by_status: dict[str, int] = field(default_factory=dict)
    complaints_total: int = 0
    overdue_now: int = 0
    ratings_by_score: dict[int, int] = field(default_factory=dict)
    ratings_count: int = 0
    ratings_average: Decimal | None = None
    handovers_by_reason: dict[str, int] = field(default_factory=dict)
    handovers_total: int = 0
    callbacks_open: int = 0
    conversations_by_day: dict[date, dict[str, int]] = field(default_factory=dict)


def records_figures(
    session: Session, start: date, end: date, *, today: date | None = None
) -> RecordsFigures:
    """Complaints, ratings, hand-overs and the conversations the records know of."""
    today = today or shanghai_date()
    begin, finish = local_day_bounds(start, end)
    figures = RecordsFigures(start=start, end=end)

    in_range = (Complaint.created_at >= begin, Complaint.created_at < finish)
    for category, count in session.execute(
        select(Complaint.category, func.count(Complaint.id)).where(*in_range)
        .group_by(Complaint.category)
    ):
        figures.complaints_by_category[category.value] = int(count)
    for status, count in session.execute(
        select(Complaint.status, func.count(Complaint.id)).where(*in_range)
        .group_by(Complaint.status)
    ):
        figures.complaints_by_status[status.value] = int(count)
    figures.complaints_total = sum(figures.complaints_by_status.values())
    figures.overdue_now = session.scalar(
        select(func.count(Complaint.id)).where(
            Complaint.status != ComplaintStatus.closed, Complaint.due_date < today
        )
    ) or 0

    scores = Counter(
        int(score)
        for (score,) in session.execute(
            select(Rating.score).where(Rating.created_at >= begin, Rating.created_at < finish)
        )
    )
    figures.ratings_by_score = {score: scores.get(score, 0) for score in range(5, 0, -1)}
    figures.ratings_count = sum(scores.values())
    if figures.ratings_count:
        average = Decimal(sum(s * n for s, n in scores.items())) / figures.ratings_count
        figures.ratings_average = average.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    for reason, count in session.execute(
        select(Handover.reason, func.count(Handover.id))
        .where(Handover.created_at >= begin, Handover.created_at < finish)
        .group_by(Handover.reason)
    ):
        figures.handovers_by_reason[reason] = int(count)
    figures.handovers_total = sum(figures.handovers_by_reason.values())
    figures.callbacks_open = session.scalar(
        select(func.count(CallbackRequest.id)).where(CallbackRequest.status == CallbackStatus.open)
    ) or 0

    seen: set[tuple[date, str, str]] = set()
    sources: Sequence[Any] = (
        (Complaint.conversation_id, Complaint.channel, Complaint.created_at),
        (Handover.conversation_id, Handover.channel, Handover.created_at),
        (Rating.conversation_id, Rating.channel, Rating.created_at),
        (AuthSession.conversation_id, AuthSession.channel, AuthSession.created_at),
    )
    for conversation, channel, created in sources:
        rows = session.execute(
            select(conversation, channel, created).where(
                conversation.is_not(None), created >= begin, created < finish
            )
        )
        for conversation_id, channel_code, at in rows:
            seen.add((local_day(at), channel_code.value, conversation_id))
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_seen: dict[str, tuple[date, str]] = {}
    for day, channel_code, conversation_id in sorted(seen):
        # A conversation counts once, on the first day and channel it appears.
        first_seen.setdefault(conversation_id, (day, channel_code))
    for day, channel_code in first_seen.values():
        by_day[day][channel_code] += 1
    figures.conversations_by_day = {day: dict(counts) for day, counts in by_day.items()}
    return figures


def complaints_for_export(session: Session, start: date, end: date) -> list[Complaint]:
    """Complaints filed between ``start`` and ``end`` (Beijing dates, inclusive), oldest first."""
    begin, finish = local_day_bounds(start, end)
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.created_at >= begin, Complaint.created_at < finish)
            .order_by(Complaint.created_at, Complaint.id)
        )
    )


def owners_in_use(session: Session) -> list[str]:
    """Every user name that owns a complaint, plus active staff (for the owner filter)."""
    names = set(
        session.scalars(select(Complaint.owner).where(Complaint.owner.is_not(None)).distinct())
    )
    names.update(staff.username for staff in list_staff(session, active_only=True))
    return sorted(name for name in names if name)


def staff_names(session: Session) -> dict[str, str]:
    """User name → display name, for showing people by name."""
    return {staff.username: staff.display_name for staff in list_staff(session)}

