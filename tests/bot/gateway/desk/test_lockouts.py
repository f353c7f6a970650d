"""The desk's locked accounts: every staff member sees who is locked and why
(masked, sources by kind only); only a supervisor unlocks, with CSRF, audited."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.records.account_models import AuthFailure
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.staff_models import DeskAuditEvent
from bot.records.throttle import call_sources, web_sources
from bot.records.verification import verify_identity
from tests.bot.gateway.desk.conftest import SECRET, make_settings, post
from tests.bot.records.conftest import ACCOUNT, PASSWORD, add_account

SOURCES = [web_sources("203.0.113.7", "conv-a"), call_sources("13912345678", "CA1"),
           web_sources("2001:db8:5:6::1", "conv-b")]


def _lock(db_url: str, tracker_url: str) -> int:
    """Five wrong passwords for ACCOUNT from three sources (two each, then one)."""
    settings = make_settings(db_url, tracker_url)
    start = utc_now() - timedelta(hours=1)
    with session_scope(db_url) as session:
        account = add_account(session)
        for n, sources in enumerate([SOURCES[0], SOURCES[0], SOURCES[1], SOURCES[1], SOURCES[2]]):
            result = verify_identity(session, ACCOUNT, "000000", channel="webchat",
                                     conversation_id="c", settings=settings,
                                     now=start + timedelta(minutes=10 * n), sources=sources)
            assert result.reason == "mismatch"
        return account.id


def test_an_agent_sees_who_is_locked_and_why_but_cannot_unlock(
        as_agent, db_url: str, tracker_url: str) -> None:
    account_id = _lock(db_url, tracker_url)
    page = as_agent.get("/desk/locks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1020****5060" in html and ACCOUNT not in html
    assert "查询密码连续输错" in html and "<td>5</td>" in html
    assert "3 个（网络地址、IPv6 网段、来电号码）" in html
    for raw in ("203.0.113.7", "2001:db8", "13912345678", SECRET):
        assert raw not in html
    assert "/unlock" not in html and "联系督查员" in html
    denied = post(as_agent, f"/desk/locks/{account_id}/unlock", form_page="/desk/locks")
    assert denied.status_code == 403
    with session_scope(db_url) as session:
        assert session.scalar(select(AuthFailure.cleared).limit(1)) is False


def test_a_supervisor_unlocks_with_csrf_and_it_is_audited(
        as_supervisor, db_url: str, tracker_url: str) -> None:
    account_id = _lock(db_url, tracker_url)
    assert f"/desk/locks/{account_id}/unlock" in as_supervisor.get("/desk/locks").get_data(
        as_text=True)
    no_token = as_supervisor.post(f"/desk/locks/{account_id}/unlock")
    assert no_token.status_code in (400, 403)
    response = post(as_supervisor, f"/desk/locks/{account_id}/unlock", form_page="/desk/locks")
    assert response.status_code == 303
    page = as_supervisor.get("/desk/locks").get_data(as_text=True)
    assert "当前没有被锁定的账户" in page and "已解除该账户的查询密码锁定" in page
    with session_scope(db_url) as session:
        event = session.scalars(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "account_unlocked")).one()
        assert (event.actor, event.target_type, event.target_id) == (
            "wangfang", "fund_account", str(account_id))
        settings = make_settings(db_url, tracker_url)
        assert verify_identity(session, ACCOUNT, PASSWORD, channel="webchat",
                               conversation_id="c", settings=settings).ok
    assert "解除公积金账户查询锁定" in as_supervisor.get("/desk/audit").get_data(as_text=True)
    assert post(as_supervisor, "/desk/locks/999999/unlock",
                form_page="/desk/locks").status_code == 404


def test_the_failure_spike_is_a_figure_on_the_overview(
        as_agent, db_url: str, tracker_url: str) -> None:
    _lock(db_url, tracker_url)  # an hour ago: outside the 15-minute window
    html = as_agent.get("/desk/overview").get_data(as_text=True)
    assert "身份验证失败（近 15 分钟）" in html and "警戒值 50 次" in html
    settings = make_settings(db_url, tracker_url)
    now = utc_now()
    with session_scope(db_url) as session:
        for n in range(51):
            verify_identity(session, f"99{n:010d}", "000000", channel="voice",
                            conversation_id="c", settings=settings, now=now)
    html = as_agent.get("/desk/overview").get_data(as_text=True)
    assert "超过警戒值 50 次" in html
    assert "51" in html
