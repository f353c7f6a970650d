"""``python -m bot.gateway.desk.create_supervisor``: the first supervisor, no default password."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.gateway.desk.create_supervisor import main
from bot.records.db import session_scope
from bot.records.passwords import verify_password
from bot.records.staff_models import DeskAuditEvent, StaffRole, StaffUser
from tests.bot.gateway.desk.conftest import csrf_from

ROOT = Path(__file__).resolve().parents[4]
GOOD = "Jinjiang-river-96319"


def _run(db_url: str, answers: list[str], *args: str) -> tuple[int, list[str]]:
    typed = iter(answers)
    said: list[str] = []
    code = main(["--username", "wangfang", "--display-name", "王芳", "--url", db_url, *args],
                read_password=lambda _prompt: next(typed), out=said.append)
    return code, said


def _staff(db_url: str) -> list[StaffUser]:
    with session_scope(db_url) as session:
        return list(session.scalars(select(StaffUser)))


def test_creates_a_supervisor_with_the_password_typed_twice(db_url: str) -> None:
    code, said = _run(db_url, [GOOD, GOOD])
    assert code == 0 and "supervisor wangfang created" in said[-1]
    (staff,) = _staff(db_url)
    assert staff.role is StaffRole.supervisor and staff.display_name == "王芳"
    assert staff.active and not staff.must_change_password
    assert staff.password_hash.startswith("$argon2id$") and GOOD not in staff.password_hash
    assert verify_password(staff.password_hash, GOOD)
    with session_scope(db_url) as session:
        event = session.scalar(select(DeskAuditEvent))
        assert (event.actor, event.action, event.target_id) == ("cli", "staff_created", "wangfang")


@pytest.mark.parametrize(
    ("answers", "complaint"),
    [
        (["short", GOOD, GOOD], "at least 12"),
        ([GOOD, GOOD + "x", GOOD, GOOD], "differ"),
        (["wangfang-password", GOOD, GOOD], "user name"),
        (["aaaaaaaaaaaaaaaa", GOOD, GOOD], "too simple"),
        (["", GOOD, GOOD], "required"),
    ],
)
def test_bad_passwords_are_asked_again(db_url: str, answers: list[str], complaint: str) -> None:
    code, said = _run(db_url, answers)
    assert code == 0
    assert any(complaint in line for line in said)
    assert len(_staff(db_url)) == 1


def test_gives_up_after_three_bad_passwords(db_url: str) -> None:
    code, said = _run(db_url, ["short", "short", "short"])
    assert code == 1 and "nothing was created" in said[-1]
    assert _staff(db_url) == []


def test_refuses_an_existing_user_name(db_url: str) -> None:
    assert _run(db_url, [GOOD, GOOD])[0] == 0
    code, said = _run(db_url, [GOOD + "2", GOOD + "2"])
    assert code == 1 and "already exists" in said[-1]
    assert len(_staff(db_url)) == 1


@pytest.mark.parametrize("username", ["ab", "1abc", "王芳", "a b c", "x" * 51])
def test_refuses_bad_user_names(db_url: str, username: str) -> None:
    said: list[str] = []
    code = main(["--username", username, "--display-name", "某人", "--url", db_url],
                read_password=lambda _p: GOOD, out=said.append)
    assert code == 2
    assert _staff(db_url) == []


def test_has_no_password_option() -> None:
    with pytest.raises(SystemExit):
        main(["--username", "wangfang", "--display-name", "王芳", "--password", GOOD])


def test_module_runs_with_the_password_on_stdin(tmp_path: Path) -> None:
    """As an operator runs it; without a terminal, getpass reads the two lines from stdin."""
    from bot.records.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    result = subprocess.run(
        [sys.executable, "-m", "bot.gateway.desk.create_supervisor",
         "--username", "chenjing", "--display-name", "陈静", "--url", url],
        input=f"{GOOD}\n{GOOD}\n", capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert GOOD not in result.stdout + result.stderr
    with session_scope(url) as session:
        staff = session.scalar(select(StaffUser))
        assert staff.username == "chenjing" and staff.role is StaffRole.supervisor


def test_the_new_supervisor_enrols_a_second_factor_at_the_first_log_in(db_url: str,
                                                                       client) -> None:  # type: ignore[no-untyped-def]
    from tests.bot.gateway.desk.conftest import Person, log_in

    code, said = _run(db_url, [GOOD, GOOD])
    assert code == 0 and "second factor" in said[-1]
    first = client.post("/desk/login", data={"username": "wangfang", "password": GOOD,
                                             "csrf_token": csrf_from(client)})
    assert first.headers["Location"] == "/desk/login/enrol"
    client.get("/desk/login")  # starts again: the fixture enrols as a person would
    assert log_in(client, Person("wangfang", GOOD, "supervisor")).status_code == 303
    assert client.get("/desk/staff").status_code == 200
    (staff,) = _staff(db_url)
    assert staff.totp_enrolled_at is not None
