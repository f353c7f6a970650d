"""Staff administration by supervisors and the operations log."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.records.clock import utc_now
from bot.records.db import session_scope
from tests.bot.gateway.desk.conftest import Person, log_in, post
from bot.records.passwords import verify_password
from bot.records.staff_models import DeskAuditEvent, StaffRole, StaffUser

TEMP_RE = re.compile(r'<code class="secret">([^<]+)</code>')


def _user(db_url: str, username: str) -> StaffUser:
    with session_scope(db_url) as session:
        return session.scalar(select(StaffUser).where(StaffUser.username == username))


def test_supervisor_creates_an_agent_with_a_one_time_password(app, as_supervisor,
                                                              db_url: str) -> None:
    response = post(as_supervisor, "/desk/staff",
                    {"username": "Zhouyu", "display_name": "周瑜", "role": "agent"},
                    form_page="/desk/staff")
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    temporary = TEMP_RE.search(page).group(1)
    assert "只显示这一次" in page and len(temporary) == 16
    created = _user(db_url, "zhouyu")
    assert created.role is StaffRole.agent and created.must_change_password
    assert verify_password(created.password_hash, temporary)
    assert temporary not in as_supervisor.get("/desk/staff").get_data(as_text=True)
    # The new agent must set a password before anything else.
    newcomer = app.test_client()
    response = log_in(newcomer, Person("zhouyu", temporary, "agent"))
    assert response.headers["Location"] == "/desk/password"


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"username": "wangfang", "display_name": "重名", "role": "agent"}, 409, "该用户名已存在"),
        ({"username": "ab", "display_name": "短名", "role": "agent"}, 400, "用户名须为"),
        ({"username": "9lives", "display_name": "数字开头", "role": "agent"}, 400, "用户名须为"),
        ({"username": "newbie", "display_name": "", "role": "agent"}, 400, "请填写姓名"),
        ({"username": "newbie", "display_name": "名" * 51, "role": "agent"}, 400, "姓名最多 50 个字"),
        ({"username": "newbie", "display_name": "新人", "role": "admin"}, 400, "请选择角色"),
        ({"username": "newbie", "display_name": "新人", "role": ""}, 400, "请选择角色"),
    ],
)
def test_bad_new_accounts_are_refused(as_supervisor, db_url: str, form: dict, status: int,
                                      message: str) -> None:
    response = post(as_supervisor, "/desk/staff", form, form_page="/desk/staff")
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert [s.username for s in session.scalars(select(StaffUser))] == ["wangfang"]


def test_unlock_a_locked_agent(as_supervisor, agent, db_url: str) -> None:
    with session_scope(db_url) as session:
        session.execute(update(StaffUser).where(StaffUser.username == "lihua")
                        .values(locked_until=utc_now() + timedelta(minutes=10), failed_logins=0))
    assert "锁定至" in as_supervisor.get("/desk/staff").get_data(as_text=True)
    response = post(as_supervisor, "/desk/staff/lihua/unlock", form_page="/desk/staff")
    assert response.status_code == 303
    assert _user(db_url, "lihua").locked_until is None


def test_disable_and_enable(as_supervisor, agent, db_url: str) -> None:
    assert post(as_supervisor, "/desk/staff/lihua/disable", form_page="/desk/staff").status_code == 303
    assert not _user(db_url, "lihua").active
    assert post(as_supervisor, "/desk/staff/lihua/enable", form_page="/desk/staff").status_code == 303
    assert _user(db_url, "lihua").active


def test_reset_password_ends_sessions_and_forces_a_change(app, as_supervisor, agent,
                                                          db_url: str) -> None:
    agent_client = app.test_client()
    log_in(agent_client, agent)
    response = post(as_supervisor, "/desk/staff/lihua/reset", form_page="/desk/staff")
    assert response.status_code == 200
    temporary = TEMP_RE.search(response.get_data(as_text=True)).group(1)
    assert agent_client.get("/desk/complaints").status_code == 302
    user = _user(db_url, "lihua")
    assert user.must_change_password and verify_password(user.password_hash, temporary)


def test_change_role(as_supervisor, agent, db_url: str) -> None:
    response = post(as_supervisor, "/desk/staff/lihua/role", {"role": "supervisor"},
                    form_page="/desk/staff")
    assert response.status_code == 303
    assert _user(db_url, "lihua").role is StaffRole.supervisor


@pytest.mark.parametrize("action", ["disable", "reset", "role"])
def test_supervisor_cannot_act_on_own_account(as_supervisor, db_url: str, action: str) -> None:
    response = post(as_supervisor, f"/desk/staff/wangfang/{action}", {"role": "agent"},
                    form_page="/desk/staff")
    assert response.status_code == 409
    assert "不能对本人账号执行此操作" in response.get_data(as_text=True)
    me = _user(db_url, "wangfang")
    assert me.active and me.role is StaffRole.supervisor and not me.must_change_password


@pytest.mark.parametrize("path", ["/desk/staff/nobody/unlock", "/desk/staff/nobody/reset"])
def test_unknown_staff_is_404(as_supervisor, path: str) -> None:
    response = post(as_supervisor, path, form_page="/desk/staff")
    assert response.status_code == 404
    assert "未找到该账号" in response.get_data(as_text=True)


def test_unknown_staff_action_is_404(as_supervisor, agent) -> None:
    assert post(as_supervisor, "/desk/staff/lihua/delete", form_page="/desk/staff").status_code == 404


def test_operations_log_lists_staff_actions(as_supervisor, agent, db_url: str) -> None:
    post(as_supervisor, "/desk/staff/lihua/disable", form_page="/desk/staff")
    page = as_supervisor.get("/desk/audit").get_data(as_text=True)
    assert "停用账号" in page and "王芳" in page and "登录" in page and "命令行" in page
    with session_scope(db_url) as session:
        event = session.scalar(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "staff_disabled"))
        assert event.actor == "wangfang" and event.target_id == "lihua" and event.at is not None
