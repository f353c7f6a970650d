"""Fixtures of the records tests; the databases (`db_url`, `db_session`) are tests/conftest.py's."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from bot.records import passwords
from bot.records.staff import create_staff
from bot.records.staff_models import StaffRole, StaffUser

GOOD = "Wenshu-monastery-1"


@pytest.fixture
def quick_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id at its lightest cost (still real hashing); the full profile is in test_passwords."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8192,
                                                             parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


def add_staff(session: Session, username: str = "lihua",
              role: StaffRole = StaffRole.agent) -> StaffUser:
    """Create a staff member with the password :data:`GOOD` (as the command line) and commit."""
    staff = create_staff(session, None, username=username, display_name="李华", role=role,
                         password=GOOD, must_change_password=False)
    session.commit()
    return staff
