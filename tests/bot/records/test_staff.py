"""Staff accounts: the password policy, user names, who may create staff, roles in the database."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.records.errors import DeskPermissionError
from bot.records.staff import create_staff, normalize_username, password_problems
from bot.records.staff_models import StaffUser
from tests.bot.records.conftest import GOOD, add_staff


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        (GOOD, []),
        ("", ["password_required"]),
        (None, ["password_required"]),
        ("Abc-12345", ["password_too_short"]),
        ("Tianfu-square-" * 10, ["password_too_long"]),
        ("my-lihua-secret-pw", ["password_contains_username"]),
        ("abababababababab", ["password_too_common"]),
        ("Password1234", ["password_too_common"]),
        ("一二三四五六七八九十百千", []),
    ],
)
def test_password_problems(password, problems: list[str]) -> None:
    assert password_problems(password, "lihua") == problems


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("lihua", "lihua"), (" LiHua ", "lihua"), ("li.hua_2-x", "li.hua_2-x"), ("ab", None),
     ("2lihua", None), ("li hua", None), ("李华", None), ("x" * 51, None), (None, None),
     ("_me", None), ("lihua\n", "lihua")],
)
def test_normalize_username(raw, normalized) -> None:
    assert normalize_username(raw) == normalized


def test_only_supervisors_create_staff(db_session: Session, quick_hasher) -> None:
    agent = add_staff(db_session)
    with pytest.raises(DeskPermissionError):
        create_staff(db_session, agent, username="zhaolei", display_name="赵磊",
                     role="agent", password=GOOD, must_change_password=True)


def test_role_is_checked_by_the_database(db_session: Session, quick_hasher) -> None:
    add_staff(db_session)
    with pytest.raises(IntegrityError):
        db_session.execute(text("UPDATE staff_users SET role = 'admin'"))
        db_session.flush()
    db_session.rollback()
    assert db_session.scalar(select(func.count(StaffUser.id))) == 1
