"""Log-in, lock-out, sessions (expiry, log-out), CSRF, roles and security headers."""
from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from bot.records.clock import utc_now
from bot.records.db import session_scope
from tests.bot.gateway.desk.conftest import PASSWORD, csrf_from, log_in, post
from bot.records.service_models import Complaint, ComplaintEvent, ComplaintStatus
from bot.records.staff_models import DeskAuditEvent, StaffLoginFailure, StaffSession, StaffUser

LOGIN_FAILED = "登录失败：用户名或密码错误，或账号已暂时锁定。"

PAGES = [
    "/desk/",
    "/desk/complaints",
    "/desk/complaints/TS2611270001",
    "/desk/handovers",
    "/desk/callbacks",
    "/desk/overview",
    "/desk/staff",
    "/desk/audit",
    "/desk/password",
    "/desk/no-such-page",
]


@pytest.mark.parametrize("path", PAGES)
def test_nothing_under_the_desk_without_logging_in(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/desk/login")


@pytest.mark.parametrize(
    "path",
    ["/desk/complaints/TS2611270001/take", "/desk/handovers/1/take", "/desk/callbacks/1/done",
     "/desk/export", "/desk/staff"],
)
def test_posts_without_logging_in_change_nothing(client, ticket: str, db_url: str,
                                                 path: str) -> None:
    token = csrf_from(client)  # a valid token of an anonymous session is not enough
    response = client.post(path.replace("TS2611270001", ticket), data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/desk/login")
    with session_scope(db_url) as session:
        complaint = session.scalar(select(Complaint))
        assert complaint.owner is None


def test_login_page_is_chinese_and_asks_for_name_and_password(client) -> None:
    page = client.get("/desk/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "工作人员登录" in page and "用户名" in page and "密码" in page
    assert 'type="password"' in page


def test_login_opens_a_server_side_session_and_is_logged(client, agent, db_url: str) -> None:
    response = log_in(client, agent)
    assert response.status_code == 303
    assert response.headers["Location"] == "/desk/complaints"
    assert client.get("/desk/complaints").status_code == 200
    with client.session_transaction() as flask_session:
        token = flask_session["desk_sid"]
    with session_scope(db_url) as session:
        row = session.scalar(select(StaffSession))
        assert row is not None and not row.revoked
        assert row.token_hash != token and len(row.token_hash) == 64
        staff = session.scalar(select(StaffUser).where(StaffUser.username == "lihua"))
        assert staff.last_login_at is not None
        assert session.scalar(select(DeskAuditEvent.action).where(
            DeskAuditEvent.staff_id == staff.id)) == "login"


def test_username_is_case_and_space_insensitive(client, agent) -> None:
    token = csrf_from(client)
    response = client.post("/desk/login", data={
        "username": "  LiHua ", "password": agent.password, "csrf_token": token})
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("lihua", "wrong-password-123"),
        ("lihua", ""),
        ("lihua", PASSWORD.upper()),
        ("nobody", PASSWORD),
        ("", PASSWORD),
        ("x" * 300, PASSWORD),
        ("lihua'; DROP TABLE staff_users; --", PASSWORD),
    ],
)
def test_wrong_credentials_get_one_message_and_no_session(client, agent, db_url: str,
                                                          username: str, password: str) -> None:
    response = log_in(client, agent.__class__(username, password, "agent"), password)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert LOGIN_FAILED in page
    assert client.get("/desk/complaints").status_code == 302
    with session_scope(db_url) as session:
        assert session.scalar(select(StaffSession)) is None
        failure = session.scalar(select(StaffLoginFailure))
        assert failure is not None
        assert len(failure.username_hash) == 64
        if username.strip():
            assert username.strip() not in failure.username_hash


def test_failed_login_keeps_no_typed_text(client, agent, db_url: str) -> None:
    """A password typed into the name field must not end up in the database."""
    log_in(client, agent.__class__("MySecret-Passw0rd", "x", "agent"), "x")
    with session_scope(db_url) as session:
        for failure in session.scalars(select(StaffLoginFailure)):
            assert "MySecret" not in (failure.username_hash + (failure.reason or ""))


def test_lock_out_after_five_failures(client, agent, db_url: str) -> None:
    for attempt in range(4):
        assert log_in(client, agent, "wrong-password-x").status_code == 401, attempt
    fifth = log_in(client, agent, "wrong-password-x")
    assert fifth.status_code == 401
    assert LOGIN_FAILED in fifth.get_data(as_text=True)
    # Even the right password is refused while locked.
    right = log_in(client, agent)
    assert right.status_code == 401
    assert client.get("/desk/complaints").status_code == 302
    with session_scope(db_url) as session:
        staff = session.scalar(select(StaffUser).where(StaffUser.username == "lihua"))
        assert staff.locked_until is not None
        assert session.scalar(select(DeskAuditEvent.action).where(
            DeskAuditEvent.action == "staff_locked")) == "staff_locked"
        # The lock runs out...
        session.execute(update(StaffUser).values(locked_until=utc_now() - timedelta(seconds=1)))
    # ...and then the right password works and resets the counter.
    assert log_in(client, agent).status_code == 303
    with session_scope(db_url) as session:
        staff = session.scalar(select(StaffUser).where(StaffUser.username == "lihua"))
        assert staff.failed_logins == 0 and staff.locked_until is None


def test_unknown_names_and_known_names_get_the_same_answers(client, agent, db_url: str) -> None:
    """Five failures and then the right password: the pages say nothing about which name exists.

    Names differ in length, so each page is compared with its typed name blanked.
    """
    def pages(username: str, password: str) -> list[tuple[int, str]]:
        person = agent.__class__(username, password, "agent")
        answers = [log_in(client, person, "wrong-password-x") for _ in range(5)]
        answers.append(log_in(client, person, password))
        return [(r.status_code, r.get_data(as_text=True).replace(username, "NAME"))
                for r in answers]

    ghost = pages("ghost", "whatever-password")
    real = pages(agent.username, agent.password)  # the last one is locked
    assert [status for status, _ in real] == [401] * 6
    assert real == ghost
    assert LOGIN_FAILED in real[-1][1]
    assert "锁定至" not in real[-1][1]
    with session_scope(db_url) as session:
        assert session.scalar(select(StaffUser.locked_until)) is not None


def test_a_disabled_account_gets_the_same_page_as_an_unknown_name(client, make_person,
                                                                  db_url: str) -> None:
    person = make_person("sunli", "agent")
    with session_scope(db_url) as session:
        session.execute(update(StaffUser).values(active=False))
    disabled = log_in(client, person)
    unknown = log_in(client, person.__class__("sunly", person.password, "agent"))
    assert disabled.status_code == unknown.status_code == 401
    assert (disabled.get_data(as_text=True).replace("sunli", "NAME")
            == unknown.get_data(as_text=True).replace("sunly", "NAME"))


class CountingHasher(PasswordHasher):
    """The quick test hasher, remembering the parameters of every hash it verified against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8192, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        self.verified.append(str(hash).rsplit("$", 2)[0])  # $argon2id$v=19$m=..,t=..,p=..
        return super().verify(hash, password)


@pytest.mark.parametrize("case", ["unknown", "wrong_password", "locked", "disabled"])
def test_every_refusal_costs_one_argon2_verification(client, agent, db_url: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     case: str) -> None:
    """Timing tells nothing: each path verifies once, against a hash of the staff cost."""
    from bot.records import passwords

    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    passwords._dummy_hash.cache_clear()
    with session_scope(db_url) as session:
        session.execute(update(StaffUser).values(password_hash=hasher.hash(agent.password)))
        if case == "locked":
            session.execute(update(StaffUser).values(locked_until=utc_now() + timedelta(minutes=9)))
        if case == "disabled":
            session.execute(update(StaffUser).values(active=False))
    hasher.verified.clear()
    name = "ghost" if case == "unknown" else agent.username
    password = "wrong-password-x" if case == "wrong_password" else agent.password
    assert log_in(client, agent.__class__(name, password, "agent"), password).status_code == 401
    assert hasher.verified == ["$argon2id$v=19$m=8192,t=1,p=1"]


def test_success_resets_the_failure_count(client, agent, db_url: str) -> None:
    for _ in range(3):
        log_in(client, agent, "wrong-password-x")
    assert log_in(client, agent).status_code == 303
    with session_scope(db_url) as session:
        assert session.scalar(select(StaffUser.failed_logins)) == 0


def test_disabled_account_cannot_log_in(client, agent, db_url: str) -> None:
    with session_scope(db_url) as session:
        session.execute(update(StaffUser).values(active=False))
    assert log_in(client, agent).status_code == 401


# ----------------------------------------------------------------- CSRF


@pytest.mark.parametrize("token", [None, "", "forged-token-forged-token-forged-token", "other"])
def test_login_without_a_valid_csrf_token_is_refused(client, agent, token) -> None:
    client.get("/desk/login")
    data = {"username": agent.username, "password": agent.password}
    if token == "other":
        other = client.application.test_client()
        data["csrf_token"] = csrf_from(other)
    elif token is not None:
        data["csrf_token"] = token
    response = client.post("/desk/login", data=data)
    assert response.status_code == 400
    assert "页面已过期或来源无法确认" in response.get_data(as_text=True)
    assert client.get("/desk/complaints").status_code == 302


@pytest.mark.parametrize("token", [None, "", "forged-token-forged-token-forged-token"])
def test_complaint_change_without_a_valid_csrf_token_changes_nothing(
    as_agent, ticket: str, db_url: str, token
) -> None:
    data = {} if token is None else {"csrf_token": token}
    response = as_agent.post(f"/desk/complaints/{ticket}/take", data=data)
    assert response.status_code == 400
    with session_scope(db_url) as session:
        complaint = session.scalar(select(Complaint))
        assert complaint.owner is None and complaint.status is ComplaintStatus.accepted
        assert [e.action for e in session.scalars(select(ComplaintEvent))] == ["created"]


def test_csrf_token_of_another_session_is_refused(as_agent, app, ticket: str, db_url: str) -> None:
    stranger = app.test_client()
    foreign = csrf_from(stranger)
    response = as_agent.post(f"/desk/complaints/{ticket}/take", data={"csrf_token": foreign})
    assert response.status_code == 400
    with session_scope(db_url) as session:
        assert session.scalar(select(Complaint.owner)) is None


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost.evil"])
def test_cross_origin_posts_are_refused(as_agent, ticket: str, db_url: str, origin: str) -> None:
    token = csrf_from(as_agent, "/desk/complaints")
    response = as_agent.post(f"/desk/complaints/{ticket}/take", data={"csrf_token": token},
                             headers={"Origin": origin})
    assert response.status_code == 400
    with session_scope(db_url) as session:
        assert session.scalar(select(Complaint.owner)) is None


def test_same_origin_post_is_accepted(as_agent, ticket: str) -> None:
    token = csrf_from(as_agent, "/desk/complaints")
    response = as_agent.post(f"/desk/complaints/{ticket}/take", data={"csrf_token": token},
                             headers={"Origin": "http://localhost"})
    assert response.status_code == 303


def test_login_rotates_the_csrf_token(client, agent) -> None:
    before = csrf_from(client)
    log_in(client, agent)
    assert csrf_from(client, "/desk/complaints") != before


# ------------------------------------------------------------- sessions


def test_idle_session_expires(as_agent, db_url: str) -> None:
    with session_scope(db_url) as session:
        session.execute(update(StaffSession).values(
            last_seen_at=utc_now() - timedelta(minutes=31)))
    response = as_agent.get("/desk/complaints")
    assert response.status_code == 302
    page = as_agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "登录已超时" in page
    with session_scope(db_url) as session:
        assert session.scalar(select(StaffSession.revoked)) is True


def test_activity_keeps_the_session_alive(as_agent, db_url: str) -> None:
    with session_scope(db_url) as session:
        session.execute(update(StaffSession).values(
            last_seen_at=utc_now() - timedelta(minutes=29)))
    assert as_agent.get("/desk/complaints").status_code == 200
    with session_scope(db_url) as session:
        seen = session.scalar(select(StaffSession.last_seen_at))
        assert utc_now() - seen < timedelta(minutes=1)


def test_session_ends_after_twelve_hours_whatever_the_activity(as_agent, db_url: str) -> None:
    with session_scope(db_url) as session:
        session.execute(update(StaffSession).values(expires_at=utc_now() - timedelta(seconds=1)))
    assert as_agent.get("/desk/complaints").status_code == 302


def test_logout_ends_the_session_on_the_server(as_agent, db_url: str) -> None:
    cookie = as_agent.get_cookie("session")
    assert cookie is not None
    stolen = cookie.value
    response = post(as_agent, "/desk/logout")
    assert response.status_code == 303
    assert "您已安全退出" in as_agent.get(response.headers["Location"]).get_data(as_text=True)
    assert as_agent.get("/desk/complaints").status_code == 302
    # Replaying the old cookie does not bring the session back.
    as_agent.set_cookie("session", stolen)
    assert as_agent.get("/desk/complaints").status_code == 302
    with session_scope(db_url) as session:
        assert session.scalar(select(StaffSession.revoked)) is True
        actions = list(session.scalars(select(DeskAuditEvent.action)))
        assert actions[-1] == "logout"


def test_logout_needs_post(as_agent) -> None:
    assert as_agent.get("/desk/logout").status_code == 404
    assert as_agent.get("/desk/complaints").status_code == 200


def test_disabling_an_account_ends_its_sessions(as_agent, db_url: str, supervisor) -> None:
    from bot.records.staff import set_staff_active

    with session_scope(db_url) as session:
        boss = session.scalar(select(StaffUser).where(StaffUser.username == "wangfang"))
        set_staff_active(session, boss, "lihua", False)
    assert as_agent.get("/desk/complaints").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/desk/overview", "/desk/overview"),
        ("//evil.example/desk/", "/desk/complaints"),
        ("https://evil.example/desk/", "/desk/complaints"),
        ("/desk/../../etc", "/desk/complaints"),
        ("/\\evil.example", "/desk/complaints"),
        ("/desk/logout", "/desk/complaints"),
    ],
)
def test_login_returns_only_to_desk_pages(client, agent, next_url: str, expected: str) -> None:
    token = csrf_from(client)
    response = client.post("/desk/login", data={
        "username": agent.username, "password": agent.password, "csrf_token": token,
        "next": next_url})
    assert response.headers["Location"] == expected


def test_the_wanted_page_survives_the_login_redirect(client, agent) -> None:
    first = client.get("/desk/overview?start=2026-11-01")
    assert first.headers["Location"] == "/desk/login?next=/desk/overview?start%3D2026-11-01"
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/desk/overview?start=2026-11-01"' in page


# ---------------------------------------------------------- passwords


def test_new_account_must_choose_a_password_first(client, make_person, db_url: str) -> None:
    person = make_person("sunli", "agent", must_change=True)
    assert log_in(client, person).headers["Location"] == "/desk/password"
    assert client.get("/desk/complaints").headers["Location"] == "/desk/password"
    token = csrf_from(client, "/desk/password")
    response = client.post("/desk/password", data={
        "current_password": person.password, "new_password": "Chengdu-qingcheng-shan",
        "repeat_password": "Chengdu-qingcheng-shan", "csrf_token": token})
    assert response.status_code == 303
    assert client.get("/desk/complaints").status_code == 200
    with session_scope(db_url) as session:
        staff = session.scalar(select(StaffUser).where(StaffUser.username == "sunli"))
        assert not staff.must_change_password
        assert staff.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("wrong-current-pw", "Chengdu-qingcheng-shan", "Chengdu-qingcheng-shan", "当前密码不正确"),
        (PASSWORD, "Chengdu-qingcheng-shan", "Chengdu-qingcheng-sha", "两次输入的新密码不一致"),
        (PASSWORD, "short-pw", "short-pw", "至少 12 个字符"),
        (PASSWORD, "lihua-password-1", "lihua-password-1", "不能包含用户名"),
        (PASSWORD, "aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", "过于简单或常见"),
        (PASSWORD, "password1234", "password1234", "过于简单或常见"),
        (PASSWORD, PASSWORD, PASSWORD, "不能与当前密码相同"),
        (PASSWORD, "x" * 129, "x" * 129, "最多 128 个字符"),
    ],
)
def test_bad_password_changes_are_refused(as_agent, db_url: str, current, new, repeat,
                                          message) -> None:
    with session_scope(db_url) as session:
        before = session.scalar(select(StaffUser.password_hash))
    token = csrf_from(as_agent, "/desk/password")
    response = as_agent.post("/desk/password", data={
        "current_password": current, "new_password": new, "repeat_password": repeat,
        "csrf_token": token})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert session.scalar(select(StaffUser.password_hash)) == before


def test_password_change_ends_other_sessions(app, agent, db_url: str) -> None:
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, agent)
    log_in(phone, agent)
    token = csrf_from(laptop, "/desk/password")
    laptop.post("/desk/password", data={
        "current_password": agent.password, "new_password": "Chengdu-qingcheng-shan",
        "repeat_password": "Chengdu-qingcheng-shan", "csrf_token": token})
    assert laptop.get("/desk/complaints").status_code == 200
    assert phone.get("/desk/complaints").status_code == 302


# --------------------------------------------------------------- roles


@pytest.mark.parametrize("path", ["/desk/staff", "/desk/audit"])
def test_agents_cannot_open_supervisor_pages(as_agent, path: str) -> None:
    response = as_agent.get(path)
    assert response.status_code == 403
    assert "此操作仅限督查员" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/desk/staff", {"username": "newbie", "display_name": "新人", "role": "supervisor"}),
        ("/desk/staff/lihua/role", {"role": "supervisor"}),
        ("/desk/staff/wangfang/disable", {}),
        ("/desk/staff/wangfang/reset", {}),
        ("/desk/staff/wangfang/totp", {}),
        ("/desk/export", {"start": "2026-11-01", "end": "2026-11-30"}),
    ],
)
def test_agents_cannot_do_supervisor_actions(as_agent, supervisor, db_url: str, path: str,
                                             data: dict) -> None:
    with session_scope(db_url) as session:
        before = [(s.username, s.role, s.active, s.password_hash, s.totp_secret)
                  for s in session.scalars(select(StaffUser).order_by(StaffUser.id))]
    response = post(as_agent, path, data)
    assert response.status_code == 403
    with session_scope(db_url) as session:
        after = [(s.username, s.role, s.active, s.password_hash, s.totp_secret)
                 for s in session.scalars(select(StaffUser).order_by(StaffUser.id))]
    assert after == before


def test_supervisor_sees_the_supervisor_menu_and_agent_does_not(client, agent, supervisor) -> None:
    log_in(client, agent)
    assert "账号管理" not in client.get("/desk/complaints").get_data(as_text=True)
    post(client, "/desk/logout")
    log_in(client, supervisor)
    assert "账号管理" in client.get("/desk/complaints").get_data(as_text=True)


# ------------------------------------------------------------- headers


@pytest.mark.parametrize("path", ["/desk/login", "/desk/complaints", "/desk/overview",
                                  "/desk/no-such-page"])
def test_security_headers(as_agent, path: str) -> None:
    response = as_agent.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_http_only_and_same_site(client) -> None:
    client.get("/desk/login")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "127.0.0.1"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (2, "203.0.113.9", "127.0.0.1"),
    ],
)
def test_failures_record_the_client_address_behind_trusted_proxies(
    db_url: str, tracker_url: str, agent, hops: int, forwarded: str, expected: str
) -> None:
    from dataclasses import replace

    from bot.gateway import create_app
    from tests.bot.gateway.desk.conftest import make_settings

    settings = replace(make_settings(db_url, tracker_url), trusted_proxies=hops)
    client = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True}).test_client()
    token = csrf_from(client)
    client.post("/desk/login", data={"username": "lihua", "password": "wrong-password-x",
                                     "csrf_token": token},
                headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    with session_scope(db_url) as session:
        assert session.scalar(select(StaffLoginFailure.remote_addr)) == expected


@pytest.mark.parametrize("path", ["/desk/complaints", "/desk/handovers"])
def test_records_database_down_shows_an_error_page_not_a_500(as_agent, app, path: str,
                                                             caplog) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL restarting under a logged-in agent: a 503 page that says so, nothing internal."""
    import dataclasses

    settings = app.config["HOTLINE_SETTINGS"]
    app.config["HOTLINE_SETTINGS"] = dataclasses.replace(
        settings, database_url="postgresql://nobody@127.0.0.1:1/none")
    try:
        page = as_agent.get(path)
    finally:
        app.config["HOTLINE_SETTINGS"] = settings
    body = page.get_data(as_text=True)
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "工单台暂时无法连接数据库" in body and "暂时无法使用" in body
    assert "Traceback" not in body and "127.0.0.1:1" not in body and "psycopg" not in body
    assert "the records database failed" in caplog.text
    assert as_agent.get(path).status_code == 200  # the database is back: so is the desk
