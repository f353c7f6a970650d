"""Staff accounts of the desk: who they are, their roles, their passwords.

Supervisors create, disable, re-enable, unlock and re-role accounts and reset
passwords and second factors (``actor=None`` is the command line,
``create_supervisor``); every staff member may change their own password.
Every change is written to the audit log (:func:`bot.records.audit.audit`) in
the same transaction, and a refused change raises a
:class:`~bot.records.errors.DeskError` whose ``code`` the desk shows in
Chinese; nothing is written then. Functions take the session first and leave
the transaction to the caller.

The password policy lives here (:func:`password_problems`); hashing is
:mod:`bot.records.passwords`, the plain password lives only in the function
call. Log-in and sessions are :mod:`bot.records.staff_sessions`, supervisors'
TOTP codes :mod:`bot.records.second_factor`.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.records.audit import Actor, audit
from bot.records.clock import utc_now
from bot.records.errors import (
    DeskConflictError,
    DeskNotFoundError,
    DeskPermissionError,
    DeskValidationError,
)
from bot.records.passwords import hash_staff_password, verify_password
from bot.records.staff_models import StaffRole, StaffSession, StaffUser
from bot.records.validation import form_text

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
MAX_DISPLAY_NAME_LENGTH = 50

_USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,49}$")
_COMMON_PASSWORDS = frozenset(
    {
        "123456789012", "1234567890ab", "password1234", "passw0rd1234", "qwertyuiop12",
        "qwertyuiopas", "abc123456789", "aaaaaaaaaaaa", "111111111111", "000000000000",
        "iloveyou1234", "admin1234567", "administrator", "welcome12345", "zhimakaimen1",
        "woaini1314520", "woaini123456", "96319963199631", "963199631996",
    }
)


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


def _display_name(value: object) -> str:
    text = form_text(value, max_length=MAX_DISPLAY_NAME_LENGTH, code="display_name")
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
    if target.needs_second_factor:
        # Sessions opened without a second factor must not gain supervisor rights.
        revoke_staff_sessions(session, target.id)
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


def reset_second_factor(
    session: Session, actor: Actor, username: str, *, now: datetime | None = None
) -> StaffUser:
    """Forget a supervisor's TOTP key (a lost or new phone); every session of theirs ends.

    They enrol a new key at their next log-in, after the password. Not one's
    own: a supervisor who lost their phone asks another (or the command line
    creates a new supervisor who does it).
    """
    target = _staff_target(session, actor, username)
    if not target.has_second_factor:
        raise DeskConflictError("no_change")
    now = utc_now(now)
    target.totp_secret = None
    target.totp_enrolled_at = None
    target.totp_last_step = None
    target.updated_at = now
    revoke_staff_sessions(session, target.id)
    audit(session, actor, "staff_totp_reset", target_type="staff", target_id=target.username,
          now=now)
    return target


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


def staff_names(session: Session) -> dict[str, str]:
    """User name → display name, for showing people by name."""
    return {staff.username: staff.display_name for staff in list_staff(session)}
