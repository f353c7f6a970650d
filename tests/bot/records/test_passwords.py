"""argon2id hashing of both kinds of password: the 6-digit query password and staff passwords."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from bot.records.passwords import (
    burn_verification_time,
    hash_password,
    hash_staff_password,
    is_valid_password_format,
    needs_rehash,
    verify_password,
)

PASSWORD = "135790"
WRONG = "000000"
GOOD = "Wenshu-monastery-1"
FULL_PROFILE = "$argon2id$v=19$m=65536,t=3,p=4$"
LIGHT_PROFILE = "$argon2id$v=19$m=8192,t=1,p=1$"


# ------------------------------------------------------------ query password


def test_password_hash_is_salted_argon2id() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$")
    assert first != second
    assert PASSWORD not in first
    assert verify_password(first, PASSWORD)
    assert not verify_password(first, WRONG)
    assert not needs_rehash(first)
    assert needs_rehash(hash_password(PASSWORD, strength="light"))


@pytest.mark.parametrize("bad_hash", ["", "plain", "$argon2id$v=19$broken"])
def test_verify_password_never_raises(bad_hash: str) -> None:
    assert verify_password(bad_hash, PASSWORD) is False


@pytest.mark.parametrize(
    "password", ["12345", "1234567", "abcdef", "12345a", "１２３４５６", "123456\n", "", None]
)
def test_password_format(password: object) -> None:
    assert not is_valid_password_format(password)
    if isinstance(password, str):
        with pytest.raises(ValueError):
            hash_password(password)


@pytest.mark.parametrize(
    ("strength", "profile"), [("full", FULL_PROFILE), ("light", LIGHT_PROFILE)]
)
def test_query_password_strengths(strength: str, profile: str) -> None:
    hashed = hash_password(PASSWORD, strength=strength)  # type: ignore[arg-type]
    assert hashed.startswith(profile)
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, WRONG)


# ------------------------------------------------------------ staff password


def test_production_hash_is_argon2id_at_full_cost() -> None:
    hashed = hash_staff_password(GOOD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(hashed, GOOD)
    assert not verify_password(hashed, GOOD + "x")


@pytest.mark.parametrize("bad_hash", ["", "plain", "$argon2id$garbage"])
def test_verification_never_raises(bad_hash: str) -> None:
    assert verify_password(bad_hash, GOOD) is False
    assert verify_password(hash_staff_password(GOOD), None) is False


def test_staff_passwords_are_not_held_to_the_query_password_format() -> None:
    """The staff policy is checked by ``staff.password_problems``, not by the hasher."""
    assert not is_valid_password_format(GOOD)
    with pytest.raises(ValueError):
        hash_password(GOOD)
    hashed = hash_staff_password(GOOD)
    assert GOOD not in hashed
    assert hashed != hash_staff_password(GOOD)  # salted
    assert not needs_rehash(hashed)


# ------------------------------------------------------------------- both


@pytest.mark.parametrize("given", [None, 135790, b"135790", ["135790"], 1.5])
def test_verify_refuses_what_is_not_a_string(given: object) -> None:
    for hashed in (hash_password(PASSWORD, strength="light"), hash_staff_password(GOOD)):
        assert verify_password(hashed, given) is False


@pytest.mark.parametrize(
    ("password_hash", "expected"),
    [
        ("", True),
        ("plain", True),
        ("$argon2id$v=19$broken", True),
        (PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(GOOD), True),
        (PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(GOOD), False),
    ],
)
def test_needs_rehash(password_hash: str, expected: bool) -> None:
    assert needs_rehash(password_hash) is expected


@pytest.mark.parametrize("given", [PASSWORD, GOOD, "", None, 42])
def test_burn_verification_time_takes_anything(given: object) -> None:
    assert burn_verification_time(given) is None
