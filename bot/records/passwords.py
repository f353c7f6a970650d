"""Hashing and checking passwords with argon2id: depositors' query passwords and staff passwords.

One hasher serves both: the RFC 9106 "low memory" profile (argon2id, t=3,
m=64 MiB, p=4), the argon2-cffi default. What differs is the policy:

- the 6-digit query password (查询密码) of a fund account is hashed with
  :func:`hash_password`, which refuses anything but six ASCII digits. A
  six-digit secret has only a million values, so the cost per guess, the
  lock-out after 5 failures (:mod:`bot.records.verification`) and keeping the
  hashes away from anyone are what protect it. ``strength="light"`` (t=1,
  m=8 MiB, p=1) exists for the synthetic demo crowd only, so that seeding
  hundreds of fake people stays fast (see ``seed.py``);
- a staff member's desk password is hashed with :func:`hash_staff_password`;
  what a staff password must look like is
  :func:`bot.records.staff.password_problems`, checked before hashing.

Both are checked with :func:`verify_password`, which reads the parameters from
the hash itself and never raises; :func:`needs_rehash` tells the caller to
upgrade a weaker hash after the next successful verification, and
:func:`burn_verification_time` makes "no such account or user" as slow as a
wrong password. No hash or password is ever logged or shown.
"""
from __future__ import annotations

import re
import secrets
from functools import lru_cache
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Strength = Literal["full", "light"]

_PASSWORD_RE = re.compile(r"^[0-9]{6}$")

_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
_LIGHT_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def is_valid_password_format(password: object) -> bool:
    """True for a query password's format: exactly six ASCII digits."""
    return isinstance(password, str) and bool(_PASSWORD_RE.fullmatch(password))


def hash_password(password: str, *, strength: Strength = "full") -> str:
    """Hash a 6-digit query password (PHC string with its own random salt).

    Raises ValueError for anything but six ASCII digits.
    """
    if not is_valid_password_format(password):
        raise ValueError("a query password is exactly 6 digits")
    hasher = _LIGHT_HASHER if strength == "light" else _HASHER
    return hasher.hash(password)


def hash_staff_password(password: str) -> str:
    """Hash a staff password at full strength (PHC string with its own salt).

    The policy (length, not the user name, not a common password) is checked
    by the caller with :func:`bot.records.staff.password_problems`.
    """
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: object) -> bool:
    """Constant-time check of ``password`` against ``password_hash``.

    Never raises: a wrong password, a password that is not a string and a
    malformed or empty hash all give False.
    """
    if not isinstance(password, str) or not password_hash:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash is not of the full-strength profile (or is malformed)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def burn_verification_time(password: object) -> None:
    """Spend the time of one full verification (for unknown identifiers or user names).

    Makes "no such account" or "no such user" take as long as "wrong
    password", so response time does not tell which ones exist.
    """
    verify_password(_dummy_hash(), password if isinstance(password, str) else "")
