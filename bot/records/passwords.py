"""Hashing and checking the 6-digit query password (查询密码) with argon2id.

Real accounts use the RFC 9106 "low memory" profile (argon2id, t=3, m=64 MiB,
p=4), the argon2-cffi default. A six-digit secret has only a million values,
so the cost per guess, the lock-out after 5 failures and keeping the hashes
away from anyone are what protect it; the hash is never logged or shown.

``strength="light"`` (t=1, m=8 MiB, p=1) exists for the synthetic demo crowd
only, so that seeding hundreds of fake people stays fast (see ``seed.py``).
Verification reads the parameters from the hash itself, and
:func:`needs_rehash` tells the caller to upgrade a light hash to full strength
after the next successful verification.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Strength = Literal["full", "light"]

_PASSWORD_RE = re.compile(r"^[0-9]{6}$")

_FULL = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
_LIGHT = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def is_valid_password_format(password: object) -> bool:
    """True for exactly six ASCII digits."""
    return isinstance(password, str) and bool(_PASSWORD_RE.fullmatch(password))


def hash_password(password: str, *, strength: Strength = "full") -> str:
    """Return the argon2id hash (PHC string with its own random salt)."""
    if not is_valid_password_format(password):
        raise ValueError("a query password is exactly 6 digits")
    hasher = _LIGHT if strength == "light" else _FULL
    return hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time check of ``password`` against ``password_hash``.

    Never raises for a wrong password or a malformed hash: returns False.
    """
    if not isinstance(password, str) or not password_hash:
        return False
    try:
        return _FULL.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash is weaker than the full-strength profile."""
    try:
        return _FULL.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _FULL.hash("000000")


def burn_verification_time(password: str) -> None:
    """Spend the time of one full verification (for unknown identifiers).

    Makes "no such account" take as long as "wrong password", so response
    time does not tell which identifiers exist.
    """
    verify_password(_dummy_hash(), password if isinstance(password, str) else "")
