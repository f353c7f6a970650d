"""Supervisors' second factor: a TOTP code (RFC 6238) from an authenticator app.

Supervisors reveal depositors' phones and export data, so after the right
password (:func:`bot.records.staff_sessions.authenticate_staff` answers
``"second_factor"``) they give the 6-digit code of their authenticator app:

- not yet enrolled: the desk shows a fresh key (:func:`new_secret`,
  :func:`provisioning_uri`) and :func:`check_code` with ``enrolling=key`` keeps
  it, sealed, once a code made from it is right (audited ``staff_totp_enrolled``);
  an enrolled key is never shown again and cannot be replaced this way;
- enrolled: :func:`check_code` checks the code against the sealed key.

A code is good in its 30-second step and one step either side (clock drift),
and only once: the step of the last code accepted is kept, and a code of that
step or an earlier one is refused. Wrong and reused codes count towards the
lock-out together with wrong passwords
(:func:`~bot.records.staff_sessions.count_failure`). A supervisor resets
another's second factor with :func:`bot.records.staff.reset_second_factor`.
Keys are sealed (:class:`~bot.records.sealing.Seal`, key from ``SECRET_KEY``)
and never logged; codes are never stored. Functions take the session first and
leave the transaction to the caller, who commits whatever the outcome.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime

import pyotp
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.audit import audit
from bot.records.clock import utc_now
from bot.records.sealing import Seal
from bot.records.staff_models import StaffUser
from bot.records.staff_sessions import (
    LoginResult,
    accept_login,
    count_failure,
    record_failure,
    username_hash,
)

logger = logging.getLogger(__name__)

ISSUER = "96319 Desk"
VALID_WINDOW = 1
_CODE_RE = re.compile(r"^[0-9]{6}$")
_SEAL_PURPOSE = "desk-staff-totp"


def normalize_code(value: object) -> str | None:
    """The six ASCII digits of a typed code (spaces and hyphens dropped), or None."""
    if not isinstance(value, str):
        return None
    code = re.sub(r"[\s-]", "", value[:40])
    return code if _CODE_RE.fullmatch(code) else None


def new_secret() -> str:
    """A fresh TOTP key: 32 base32 characters (160 random bits, RFC 4226's size)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/...`` URI authenticator apps read (as text or as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def seal_secret(secret: str, staff_id: int, secret_key: str, *, pending: bool = False) -> str:
    """``secret`` sealed for staff member ``staff_id`` (``pending``: a key not yet confirmed)."""
    return Seal(secret_key, _SEAL_PURPOSE).seal(secret, _context(staff_id, pending))


def open_secret(sealed: object, staff_id: int, secret_key: str, *,
                pending: bool = False) -> str | None:
    """The key sealed by :func:`seal_secret`, or None (missing, tampered, other key)."""
    return Seal(secret_key, _SEAL_PURPOSE).open(sealed, _context(staff_id, pending))


def _context(staff_id: int, pending: bool) -> str:
    return f"staff:{staff_id}:{'pending' if pending else 'enrolled'}"


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step whose code ``code`` is (this step or one either side), or None."""
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(code, for_time=now,
                                                          valid_window=VALID_WINDOW)
    except OTPVerificationError:
        return None


def check_code(
    session: Session,
    *,
    staff_id: int,
    code: object,
    secret_key: str,
    remote_addr: str | None,
    enrolling: str | None = None,
    max_failures: int = 5,
    lockout_minutes: int = 15,
    now: datetime | None = None,
) -> LoginResult:
    """Check the TOTP code of a supervisor who has just given the right password.

    ``enrolling`` is the new key shown to a supervisor without one: a right
    code keeps it. Outcomes as :func:`~bot.records.staff_sessions.authenticate_staff`:
    ``ok`` (the log-in is complete), ``invalid`` (wrong or reused code, counted)
    or ``locked``.
    """
    now = utc_now(now)
    staff = session.scalar(select(StaffUser).where(StaffUser.id == staff_id).with_for_update())
    if staff is None or not staff.active or not staff.needs_second_factor:
        return LoginResult("invalid")

    def fail(reason: str) -> None:
        record_failure(session, name_hash=username_hash(staff.username, secret_key), staff=staff,
                       remote_addr=remote_addr, reason=reason, now=now)

    if staff.locked_until is not None and staff.locked_until > now:
        fail("locked")
        return LoginResult("locked", locked_until=staff.locked_until)
    if enrolling is not None and staff.has_second_factor:
        # Enrolled meanwhile (another browser): a key only a password holder saw
        # must never replace it.
        fail("enrolment_stale")
        return LoginResult("invalid")
    secret = enrolling or open_secret(staff.totp_secret, staff.id, secret_key)
    if secret is None:
        logger.warning("staff %s: the TOTP key cannot be opened (SECRET_KEY changed?); "
                       "another supervisor must reset the second factor", staff.id)
        fail("second_factor_unreadable")
        return LoginResult("invalid")
    typed = normalize_code(code)
    step = matching_step(secret, typed, now) if typed else None
    if step is None or (staff.totp_last_step is not None and step <= staff.totp_last_step):
        fail("wrong_code" if step is None else "reused_code")
        return count_failure(session, staff, max_failures=max_failures,
                             lockout_minutes=lockout_minutes, now=now)
    staff.totp_last_step = step
    if enrolling is not None:
        staff.totp_secret = seal_secret(enrolling, staff.id, secret_key)
        staff.totp_enrolled_at = now
        staff.updated_at = now
        audit(session, staff, "staff_totp_enrolled", target_type="staff",
              target_id=staff.username, now=now)
    return accept_login(session, staff, now=now)
