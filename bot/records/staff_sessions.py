"""Desk log-in and staff sessions: who is at the keyboard, and for how long.

:func:`authenticate_staff` checks a log-in and applies the lock-out rules
(a supervisor's TOTP code is then :mod:`bot.records.second_factor`, whose wrong
codes count with the wrong passwords);
:func:`start_staff_session` opens a session whose random token goes into the
desk cookie (only its SHA-256 is stored); :func:`resolve_staff_session` finds
the staff member of a cookie and ends idle or expired sessions;
:func:`end_staff_session` logs out. Functions take the session first and leave
the transaction to the caller, who must commit whatever the outcome (failed
log-ins are recorded). Nothing here logs a password, a token or a user name
as typed.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records.audit import audit
from bot.records.clock import utc_now
from bot.records.passwords import (
    burn_verification_time,
    hash_staff_password,
    needs_rehash,
    verify_password,
)
from bot.records.staff import normalize_username
from bot.records.staff_models import StaffLoginFailure, StaffSession, StaffUser

SESSION_MAX_HOURS = 12
SESSION_TOUCH_SECONDS = 30
IP_FAILURE_LIMIT = 30

# ---------------------------------------------------------------- log-in

# "second_factor": the password was right, but a supervisor must still give a
# TOTP code (:mod:`bot.records.second_factor`) before a session is opened.
LoginOutcome = Literal["ok", "invalid", "locked", "throttled", "second_factor"]


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
    ``lockout_minutes``, without a time (there is no account to lock). Every
    path runs one argon2 verification (a dummy hash for unknown names and
    locked or disabled accounts), so the time taken does not tell which names
    exist either; the desk shows "invalid" and "locked" as one message. More
    than :data:`IP_FAILURE_LIMIT` failures from one address in that window
    stop every attempt from it.
    """
    now = utc_now(now)
    typed = username if isinstance(username, str) else ""
    name_hash = username_hash(typed, secret_key)
    window_start = now - timedelta(minutes=lockout_minutes)
    address = (remote_addr or "")[:45] or None

    def fail(reason: str, staff: StaffUser | None) -> None:
        record_failure(session, name_hash=name_hash, staff=staff, remote_addr=address,
                       reason=reason, now=now)

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
        return LoginResult("locked" if recent + 1 >= max_failures else "invalid")

    if staff.locked_until is not None and staff.locked_until > now:
        burn_verification_time(password)
        fail("locked", staff)
        return LoginResult("locked", locked_until=staff.locked_until)

    if not verify_password(staff.password_hash, password):
        fail("wrong_password", staff)
        return count_failure(session, staff, max_failures=max_failures,
                             lockout_minutes=lockout_minutes, now=now)

    if needs_rehash(staff.password_hash) and isinstance(password, str):
        staff.password_hash = hash_staff_password(password)
    if staff.needs_second_factor:
        # The failure count stays until the code is right: a known password
        # must not buy fresh guesses at the code.
        session.flush()
        return LoginResult("second_factor", staff=staff)
    return accept_login(session, staff, now=now)


def record_failure(
    session: Session, *, name_hash: str, staff: StaffUser | None, remote_addr: str | None,
    reason: str, now: datetime,
) -> None:
    """Keep one failed log-in step (the address throttle and the figures count them)."""
    session.add(StaffLoginFailure(username_hash=name_hash, staff_id=staff.id if staff else None,
                                  remote_addr=(remote_addr or "")[:45] or None, at=now,
                                  reason=reason))
    session.flush()


def count_failure(
    session: Session, staff: StaffUser, *, max_failures: int, lockout_minutes: int,
    now: datetime,
) -> LoginResult:
    """One more wrong secret (password or code) of ``staff``; locks the account at the limit.

    The caller has recorded the :class:`StaffLoginFailure` and holds the row lock.
    """
    staff.failed_logins += 1
    if staff.failed_logins >= max_failures:
        staff.locked_until = now + timedelta(minutes=lockout_minutes)
        staff.failed_logins = 0
        audit(session, None, "staff_locked", target_type="staff", target_id=staff.username,
              detail=f"after {max_failures} failed log-ins", now=now)
        return LoginResult("locked", locked_until=staff.locked_until)
    session.flush()
    return LoginResult("invalid")


def accept_login(session: Session, staff: StaffUser, *, now: datetime) -> LoginResult:
    """Every secret was right: reset the failure count and note the log-in time."""
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    session.flush()
    return LoginResult("ok", staff=staff)


# -------------------------------------------------------------- sessions


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
