"""Supervisors' second factor on the desk: enrolment, the code step, reuse, lock-out, reset."""
from __future__ import annotations

import base64
import logging
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.records.db import session_scope
from bot.records.second_factor import ISSUER
from bot.records.staff_models import DeskAuditEvent, StaffLoginFailure, StaffSession, StaffUser
from tests.bot.gateway.desk.conftest import (
    PASSWORD,
    Person,
    authenticator_secret,
    csrf_from,
    enrolment_secret,
    log_in,
    post,
)

LOGIN_FAILED = "登录失败：用户名或密码错误，或账号已暂时锁定。"
CODE_WRONG = "验证码不正确或已使用过"


def _password_step(client: FlaskClient, person: Person, password: str | None = None):  # type: ignore[no-untyped-def]
    return client.post("/desk/login", data={
        "username": person.username, "password": password or person.password,
        "csrf_token": csrf_from(client)})


def _code_step(client: FlaskClient, code: str, step: str = "/desk/login/code"):  # type: ignore[no-untyped-def]
    return client.post(step, data={"code": code, "csrf_token": csrf_from(client, step)})


def _staff(db_url: str, username: str = "wangfang") -> StaffUser:
    with session_scope(db_url) as session:
        return session.scalar(select(StaffUser).where(StaffUser.username == username))


def _sessions(db_url: str) -> int:
    with session_scope(db_url) as session:
        return session.scalar(select(func.count(StaffSession.id))) or 0


def _actions(db_url: str) -> list[str]:
    with session_scope(db_url) as session:
        return list(session.scalars(select(DeskAuditEvent.action).order_by(DeskAuditEvent.id)))


def _wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


@pytest.fixture
def enrolled(client: FlaskClient, supervisor: Person) -> Person:
    """The supervisor, enrolled through the desk and logged out again."""
    assert log_in(client, supervisor).status_code == 303
    assert post(client, "/desk/logout").status_code == 303
    return supervisor


# ------------------------------------------------------------- enrolment


def test_the_password_alone_opens_no_supervisor_session(client, supervisor, db_url: str) -> None:
    response = _password_step(client, supervisor)
    assert response.status_code == 303
    assert response.headers["Location"] == "/desk/login/enrol"
    for path in ("/desk/complaints", "/desk/staff", "/desk/export"):
        assert client.get(path).headers["Location"].startswith("/desk/login")
    assert _sessions(db_url) == 0
    assert "login" not in _actions(db_url)
    assert _staff(db_url).last_login_at is None


def test_enrolment_shows_the_key_as_text_and_a_right_code_completes_it(
    client, supervisor, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _password_step(client, supervisor)
    page = client.get("/desk/login/enrol").get_data(as_text=True)
    assert "设置两步验证" in page and "动态验证码" in page
    secret = enrolment_secret(client)
    assert len(secret) == 32
    uri = page.split('id="totp-uri" readonly rows="4">')[1].split("<")[0].replace("&amp;", "&")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    query = parse_qs(parts.query)
    assert query["secret"] == [secret] and query["issuer"] == [ISSUER]
    assert "wangfang" in parts.path

    code = pyotp.TOTP(secret).now()
    wrong = _code_step(client, _wrong(code), "/desk/login/enrol")
    assert wrong.status_code == 401 and CODE_WRONG in wrong.get_data(as_text=True)
    assert _staff(db_url).totp_enrolled_at is None

    done = _code_step(client, code, "/desk/login/enrol")
    assert done.status_code == 303 and done.headers["Location"] == "/desk/complaints"
    assert client.get("/desk/staff").status_code == 200
    staff = _staff(db_url)
    assert staff.totp_enrolled_at is not None and staff.failed_logins == 0
    assert staff.totp_secret and secret not in staff.totp_secret  # sealed, not in clear
    assert _actions(db_url)[-2:] == ["staff_totp_enrolled", "login"]
    assert secret not in caplog.text and code not in caplog.text


def test_the_key_is_never_shown_again(client, enrolled, db_url: str) -> None:
    secret = authenticator_secret(client.application, enrolled.username)
    response = _password_step(client, enrolled)
    assert response.headers["Location"] == "/desk/login/code"
    enrol = client.get("/desk/login/enrol")
    assert enrol.status_code == 303 and enrol.headers["Location"] == "/desk/login/code"
    page = client.get("/desk/login/code").get_data(as_text=True)
    assert "两步验证" in page and secret not in page and "otpauth" not in page
    with client.session_transaction() as flask_session:
        assert secret not in str(dict(flask_session))
    assert secret not in client.get("/desk/login").get_data(as_text=True)


def test_the_enrolment_key_is_sealed_in_the_cookie(client, supervisor) -> None:
    _password_step(client, supervisor)
    secret = enrolment_secret(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    raw = cookie.value.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    readable = zlib.decompress(data) if cookie.value.startswith(".") else data
    assert secret.encode() not in readable


def test_a_pending_enrolment_cannot_replace_an_enrolled_key(app, supervisor, db_url: str) -> None:
    """Someone holding only the password starts an enrolment; the owner enrols meanwhile."""
    intruder, owner = app.test_client(), app.test_client()
    _password_step(intruder, supervisor)
    intruder_secret = enrolment_secret(intruder)
    assert log_in(owner, supervisor).status_code == 303
    enrolled_key = _staff(db_url).totp_secret
    intruder_totp = pyotp.TOTP(intruder_secret)
    next_code = intruder_totp.at(time.time() + intruder_totp.interval)  # unused step
    response = _code_step(intruder, next_code, "/desk/login/enrol")
    assert response.status_code == 401 and CODE_WRONG in response.get_data(as_text=True)
    assert intruder.get("/desk/complaints").status_code == 302
    assert _staff(db_url).totp_secret == enrolled_key


# ------------------------------------------------------------- the code step


def test_every_supervisor_log_in_asks_for_the_code(client, enrolled, db_url: str) -> None:
    before = _sessions(db_url)
    response = _password_step(client, enrolled)
    assert response.headers["Location"] == "/desk/login/code"
    assert client.get("/desk/complaints").status_code == 302
    assert _sessions(db_url) == before
    totp = pyotp.TOTP(authenticator_secret(client.application, enrolled.username))
    code = totp.at(time.time() + totp.interval)  # a step the enrolment did not use
    response = _code_step(client, code[:3] + " " + code[3:])  # typed in two groups
    assert response.status_code == 303 and response.headers["Location"] == "/desk/complaints"
    assert _sessions(db_url) == before + 1


def test_the_wanted_page_survives_the_code_step(client, enrolled) -> None:
    client.post("/desk/login", data={"username": enrolled.username, "password": PASSWORD,
                                     "csrf_token": csrf_from(client), "next": "/desk/audit"})
    secret = authenticator_secret(client.application, enrolled.username)
    totp = pyotp.TOTP(secret)
    response = _code_step(client, totp.at(time.time() + totp.interval))
    assert response.status_code == 303 and response.headers["Location"] == "/desk/audit"


def test_a_code_is_good_only_once(app, enrolled, db_url: str) -> None:
    totp = pyotp.TOTP(authenticator_secret(app, enrolled.username))
    code = totp.at(time.time() + totp.interval)  # a step the enrolment did not use
    first, second = app.test_client(), app.test_client()
    _password_step(first, enrolled)
    assert _code_step(first, code).status_code == 303
    _password_step(second, enrolled)
    replay = _code_step(second, code)
    assert replay.status_code == 401 and CODE_WRONG in replay.get_data(as_text=True)
    assert second.get("/desk/complaints").status_code == 302
    # An older code of the window is no good either once a newer one was used.
    assert _code_step(second, totp.now()).status_code == 401
    with session_scope(db_url) as session:
        reasons = list(session.scalars(select(StaffLoginFailure.reason)))
    assert reasons.count("reused_code") == 2


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_malformed_codes_are_refused_without_counting(client, enrolled, db_url: str,
                                                      typed: str) -> None:
    _password_step(client, enrolled)
    response = _code_step(client, typed)
    assert response.status_code == 400
    assert "请输入 6 位数字验证码" in response.get_data(as_text=True)
    assert _staff(db_url).failed_logins == 0


def test_wrong_codes_count_towards_the_lock_out(client, enrolled, db_url: str) -> None:
    secret = authenticator_secret(client.application, enrolled.username)
    wrong = _wrong(pyotp.TOTP(secret).now())
    _password_step(client, enrolled)
    for _ in range(2):
        assert _code_step(client, wrong).status_code == 401
    # The right password again does not buy fresh guesses at the code.
    _password_step(client, enrolled)
    assert _staff(db_url).failed_logins == 2
    for _ in range(2):
        assert _code_step(client, wrong).status_code == 401
    locked = _code_step(client, wrong)
    assert locked.status_code == 401 and LOGIN_FAILED in locked.get_data(as_text=True)
    assert _staff(db_url).locked_until is not None
    assert "staff_locked" in _actions(db_url)
    # Locked: the password step says the one generic thing, even with the right password.
    again = _password_step(client, enrolled)
    assert again.status_code == 401 and LOGIN_FAILED in again.get_data(as_text=True)
    assert client.get("/desk/login/code").headers["Location"] == "/desk/login"


def test_the_code_step_expires(client, enrolled) -> None:
    _password_step(client, enrolled)
    with client.session_transaction() as flask_session:
        pending = flask_session["desk_pending"]
        pending["at"] -= 301
        flask_session["desk_pending"] = pending
    response = client.get("/desk/login/code")
    assert response.status_code == 303 and response.headers["Location"] == "/desk/login"
    assert "登录步骤已超时" in client.get("/desk/login").get_data(as_text=True)


def test_a_password_reset_ends_a_pending_code_step(client, enrolled, db_url: str) -> None:
    from bot.records.staff import reset_staff_password

    _password_step(client, enrolled)
    with session_scope(db_url) as session:
        reset_staff_password(session, None, enrolled.username)
    assert client.get("/desk/login/code").headers["Location"] == "/desk/login"


def test_the_code_pages_need_the_password_first(client, enrolled) -> None:
    for step in ("/desk/login/code", "/desk/login/enrol"):
        response = client.get(step)
        assert response.status_code == 303 and response.headers["Location"] == "/desk/login"
        token = csrf_from(client)
        assert client.post(step, data={"code": "123456", "csrf_token": token}
                           ).headers["Location"] == "/desk/login"
    assert client.get("/desk/complaints").status_code == 302


def test_agents_have_no_second_step(client, agent) -> None:
    response = log_in(client, agent)
    assert response.headers["Location"] == "/desk/complaints"


# ------------------------------------------------------------- reset and roles


def test_a_supervisor_resets_another_supervisors_second_factor(app, make_person, enrolled,
                                                                db_url: str) -> None:
    boss = make_person("zhangwei", "supervisor", display_name="张伟")
    boss_client, lost_phone = app.test_client(), app.test_client()
    assert log_in(boss_client, boss).status_code == 303
    assert log_in(lost_phone, enrolled).status_code == 303  # still logged in somewhere
    page = boss_client.get("/desk/staff").get_data(as_text=True)
    assert "已设置两步验证" in page and "/desk/staff/wangfang/totp" in page
    assert "/desk/staff/zhangwei/totp" not in page  # never one's own
    response = post(boss_client, "/desk/staff/wangfang/totp", form_page="/desk/staff")
    assert response.status_code == 303
    assert "已重置该督查员的两步验证" in boss_client.get("/desk/staff").get_data(as_text=True)
    staff = _staff(db_url)
    assert staff.totp_secret is None and staff.totp_enrolled_at is None
    assert lost_phone.get("/desk/complaints").status_code == 302  # sessions ended
    with session_scope(db_url) as session:
        event = session.scalar(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "staff_totp_reset"))
        assert (event.actor, event.target_id) == ("zhangwei", "wangfang")
    assert "重置两步验证" in boss_client.get("/desk/audit").get_data(as_text=True)
    # The next log-in enrols a new key.
    assert _password_step(lost_phone, enrolled).headers["Location"] == "/desk/login/enrol"


def test_no_one_resets_their_own_second_factor(client, enrolled, db_url: str) -> None:
    log_in(client, enrolled)
    response = post(client, "/desk/staff/wangfang/totp", form_page="/desk/staff")
    assert response.status_code == 409
    assert _staff(db_url).totp_secret is not None


def test_an_agent_made_supervisor_must_log_in_again_with_a_second_factor(
    app, agent, enrolled, db_url: str
) -> None:
    agent_client, boss = app.test_client(), app.test_client()
    assert log_in(agent_client, agent).status_code == 303
    log_in(boss, enrolled)
    post(boss, "/desk/staff/lihua/role", {"role": "supervisor"}, form_page="/desk/staff")
    assert _staff(db_url, "lihua").is_supervisor
    assert agent_client.get("/desk/staff").status_code == 302
    assert _password_step(agent_client, agent).headers["Location"] == "/desk/login/enrol"
