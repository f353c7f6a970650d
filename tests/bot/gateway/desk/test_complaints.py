"""Complaint list and detail: filters, overdue, contact reveal, lifecycle, roles, bad input."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.records.clock import shanghai_date
from bot.records.db import session_scope
from bot.records.seed import DEMO_BY_KEY
from tests.bot.gateway.desk.conftest import file_complaint, log_in, post
from bot.records.service_models import Complaint, ComplaintEvent, ComplaintStatus


def _complaint(db_url: str, ticket: str) -> Complaint:
    with session_scope(db_url) as session:
        return session.scalar(select(Complaint).where(Complaint.ticket_id == ticket))


def _events(db_url: str, ticket: str) -> list[tuple[str, str, str | None]]:
    with session_scope(db_url) as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_id == ticket))
        return [
            (event.actor, event.action, event.detail)
            for event in session.scalars(
                select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
                .order_by(ComplaintEvent.id)
            )
        ]


def _set(db_url: str, ticket: str, **values) -> None:  # type: ignore[no-untyped-def]
    with session_scope(db_url) as session:
        session.execute(update(Complaint).where(Complaint.ticket_id == ticket).values(**values))


def _page(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# ------------------------------------------------------------------- list


def test_list_shows_what_the_assistant_filed(as_agent, ticket: str) -> None:
    page = _page(as_agent, "/desk/complaints")
    assert ticket in page
    assert "已受理" in page and "服务态度" in page and "网页在线" in page and "未分派" in page
    assert "窗口人员态度恶劣" in page
    assert "13812345678" not in page


@pytest.fixture
def several(db_url: str) -> dict[str, str]:
    tickets = {
        "attitude_web": file_complaint(db_url, key="a", category="attitude", channel="webchat"),
        "efficiency_voice": file_complaint(db_url, key="b", category="efficiency",
                                           channel="voice", description="提取办了一个月还没到账"),
        "error_voice": file_complaint(db_url, key="c", category="error", channel="voice",
                                      description="缴存基数被算错了，多扣了钱"),
    }
    _set(db_url, tickets["efficiency_voice"], owner="lihua",
         status=ComplaintStatus.in_progress)
    _set(db_url, tickets["error_voice"], status=ComplaintStatus.closed, owner="zhaolei",
         reply="已更正")
    return tickets


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"attitude_web", "efficiency_voice", "error_voice"}),
        ("status=accepted", {"attitude_web"}),
        ("status=in_progress", {"efficiency_voice"}),
        ("status=closed", {"error_voice"}),
        ("category=efficiency", {"efficiency_voice"}),
        ("channel=voice", {"efficiency_voice", "error_voice"}),
        ("channel=voice&status=closed", {"error_voice"}),
        ("owner=_none", {"attitude_web"}),
        ("owner=_me", {"efficiency_voice"}),
        ("owner=zhaolei", {"error_voice"}),
        ("owner=ZhaoLei", {"error_voice"}),
    ],
)
def test_list_filters(as_agent, several: dict[str, str], query: str, expected: set[str]) -> None:
    page = _page(as_agent, f"/desk/complaints?{query}")
    shown = {name for name, ticket in several.items() if ticket in page}
    assert shown == expected
    assert "部分筛选条件无效" not in page


def test_ticket_search(as_agent, several: dict[str, str]) -> None:
    wanted = several["error_voice"]
    page = _page(as_agent, f"/desk/complaints?q={wanted[2:]}")
    assert wanted in page and several["attitude_web"] not in page


@pytest.mark.parametrize(
    "query",
    ["status=done", "category=rude", "channel=fax", "owner=x", "owner=<script>", "q=TS12",
     "status=%27%20OR%201%3D1--"],
)
def test_bad_filters_are_ignored_with_a_message(as_agent, several: dict[str, str],
                                                query: str) -> None:
    page = _page(as_agent, f"/desk/complaints?{query}")
    assert "部分筛选条件无效，已忽略。" in page
    assert all(ticket in page for ticket in several.values())
    assert "<script>" not in page


@pytest.mark.parametrize("page_number", ["0", "-3", "abc", "999999999"])
def test_odd_page_numbers_do_not_break_the_list(as_agent, ticket: str, page_number: str) -> None:
    response = as_agent.get(f"/desk/complaints?page={page_number}")
    assert response.status_code == 200


def test_overdue_cases_stand_out_and_can_be_filtered(as_agent, db_url: str) -> None:
    today = shanghai_date()
    late = file_complaint(db_url, key="late")
    due_today = file_complaint(db_url, key="today")
    closed_late = file_complaint(db_url, key="closed-late")
    on_time = file_complaint(db_url, key="on-time")
    _set(db_url, late, due_date=today - timedelta(days=1))
    _set(db_url, due_today, due_date=today)
    _set(db_url, closed_late, due_date=today - timedelta(days=3),
         status=ComplaintStatus.closed, reply="已答复")
    page = _page(as_agent, "/desk/complaints")
    rows = {ticket: page.split(ticket)[0].rsplit("<tr", 1)[1] for ticket in
            (late, due_today, closed_late, on_time)}
    assert 'class="overdue"' in rows[late]
    assert all('class="overdue"' not in rows[t] for t in (due_today, closed_late, on_time))
    assert page.count("已超期") == 1
    assert "今日到期" in page
    overdue_only = _page(as_agent, "/desk/complaints?overdue=1")
    assert late in overdue_only
    assert all(t not in overdue_only for t in (due_today, closed_late, on_time))
    detail = _page(as_agent, f"/desk/complaints/{late}")
    assert "已超期 1 天" in detail


# ----------------------------------------------------------------- detail


def test_detail_shows_transcript_masked_contact_deadline_and_trail(as_agent, ticket: str,
                                                                   db_url: str) -> None:
    page = _page(as_agent, f"/desk/complaints/{ticket}")
    complaint = _complaint(db_url, ticket)
    assert f"工单 {ticket}" in page
    assert "我要投诉" in page and "请问投诉哪一类问题？" in page  # the saved transcript
    assert "安全验证步骤（内容不予保存）" in page and "authenticated" not in page
    assert "138****5678" in page and "13812345678" not in page
    assert complaint.due_date.isoformat() in page and "5 个工作日" in page
    assert "金牛区服务大厅" in page
    assert "智能助手" in page and "登记投诉" in page


@pytest.mark.parametrize("bad_id", ["TS0000000000", "TS9912319999", "abc", "TS26112700011",
                                    "%3Cscript%3E", "1"])
def test_unknown_complaint_is_a_chinese_404(as_agent, ticket: str, bad_id: str) -> None:
    response = as_agent.get(f"/desk/complaints/{bad_id}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "未找到该投诉工单，请核对工单号。" in page
    assert "<script>" not in page


@pytest.mark.parametrize("action", ["take", "start", "close", "reopen", "note", "assign", "reveal"])
def test_actions_on_an_unknown_complaint_are_404(as_supervisor, action: str) -> None:
    response = post(as_supervisor, f"/desk/complaints/TS0000000000/{action}",
                    {"reply": "好", "reason": "好", "note": "好", "assignee": "wangfang"})
    assert response.status_code == 404
    assert "未找到该投诉工单" in response.get_data(as_text=True)


def test_digits_only_ticket_id_opens_the_complaint(as_agent, ticket: str) -> None:
    assert ticket in _page(as_agent, f"/desk/complaints/{ticket[2:]}")


def test_revealing_the_contact_is_logged(as_agent, ticket: str, db_url: str) -> None:
    response = post(as_agent, f"/desk/complaints/{ticket}/reveal")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "13812345678" in page and "本次查看已记录" in page
    assert _events(db_url, ticket)[-1] == ("lihua", "contact_revealed", None)
    # The full number is shown on that response only.
    assert "13812345678" not in _page(as_agent, f"/desk/complaints/{ticket}")
    assert "查看完整联系电话" in _page(as_agent, f"/desk/complaints/{ticket}")


def _transcript_with_personal_data() -> list[dict[str, str]]:
    demo = DEMO_BY_KEY["normal_loan"]
    said = [
        ("user", f"我身份证{demo.id_number}，账号{demo.account_number}，卡号{demo.card_number}"),
        ("bot", "您的公积金账户1020****5060状态正常。账户余额12,345.60元；月缴存额1,200.00元"),
        ("user", "我的电话13812345678"),
        ("bot", "联系电话：13812345678。请问是否正确？"),
    ]
    return [{"role": role, "text": text, "at": "2026-11-20T09:00:00+08:00"} for role, text in said]


PERSONAL = ("13812345678", DEMO_BY_KEY["normal_loan"].id_number, DEMO_BY_KEY["normal_loan"].account_number,
            DEMO_BY_KEY["normal_loan"].card_number, "12,345.60", "1,200.00")


@pytest.mark.parametrize("stored", ["captured", "stored_raw_before_masking"])
def test_the_plain_page_shows_no_personal_data_in_the_conversation(
        as_agent, ticket: str, db_url: str, stored: str) -> None:
    if stored == "captured":  # filed as the assistant files it: masked on capture
        ticket = file_complaint(db_url, key="pd", transcript=_transcript_with_personal_data())
    else:  # a record written before transcripts were masked: masked on the page
        _set(db_url, ticket, transcript=_transcript_with_personal_data())
    page = _page(as_agent, f"/desk/complaints/{ticket}")
    assert "138****5678" in page and "账户余额***元" in page
    for secret in PERSONAL:
        assert secret not in page, secret
    # The full contact only through the logged reveal; the conversation stays masked.
    revealed = post(as_agent, f"/desk/complaints/{ticket}/reveal").get_data(as_text=True)
    assert revealed.count("13812345678") == 1
    assert _events(db_url, ticket)[-1] == ("lihua", "contact_revealed", None)
    for secret in PERSONAL[1:]:
        assert secret not in revealed, secret


def test_wrong_digits_in_a_status_look_up_are_in_the_case_log_without_the_digits(
        as_agent, ticket: str, db_url: str) -> None:
    from bot.records.complaint_status import check_status

    with session_scope(db_url) as session:
        assert not check_status(session, ticket, "2468").granted
    page = _page(as_agent, f"/desk/complaints/{ticket}")
    assert "自助查询进度：联系电话后四位核对未通过" in page and "智能助手" in page
    assert "2468" not in page
    assert _events(db_url, ticket)[-1] == ("assistant", "status_check_failed", None)


def test_complaint_without_phone_says_so(as_agent, db_url: str) -> None:
    ticket = file_complaint(db_url, key="nophone", phone=None)
    assert "未留联系电话" in _page(as_agent, f"/desk/complaints/{ticket}")


# -------------------------------------------------------------- lifecycle


def test_agent_works_a_case_from_accepted_to_closed(as_agent, ticket: str, db_url: str) -> None:
    assert post(as_agent, f"/desk/complaints/{ticket}/take").status_code == 303
    assert _complaint(db_url, ticket).owner == "lihua"
    assert post(as_agent, f"/desk/complaints/{ticket}/start").status_code == 303
    assert _complaint(db_url, ticket).status is ComplaintStatus.in_progress
    reply = "您好，经核查，窗口人员确有态度问题，已批评教育并纳入考核。感谢监督。"
    response = post(as_agent, f"/desk/complaints/{ticket}/close", {"reply": reply})
    assert response.status_code == 303
    done = _complaint(db_url, ticket)
    assert done.status is ComplaintStatus.closed and done.reply == reply
    assert done.updated_at > done.created_at
    assert _events(db_url, ticket) == [
        ("assistant", "created", "channel=webchat category=attitude"),
        ("lihua", "taken", None),
        ("lihua", "started", "accepted -> in_progress"),
        ("lihua", "closed", reply),
    ]
    page = _page(as_agent, response.headers["Location"])
    assert "工单已办结。" in page and "已办结" in page and reply in page
    assert "/reopen" not in page and "请联系督查员重新打开" in page


def test_starting_an_unowned_case_makes_the_starter_its_owner(as_agent, ticket: str,
                                                              db_url: str) -> None:
    assert post(as_agent, f"/desk/complaints/{ticket}/start").status_code == 303
    complaint = _complaint(db_url, ticket)
    assert complaint.owner == "lihua" and complaint.status is ComplaintStatus.in_progress
    assert [e[1] for e in _events(db_url, ticket)] == ["created", "taken", "started"]


@pytest.mark.parametrize(
    ("status", "action", "data"),
    [
        (ComplaintStatus.accepted, "close", {"reply": "已处理"}),
        (ComplaintStatus.in_progress, "start", {}),
        (ComplaintStatus.closed, "start", {}),
        (ComplaintStatus.closed, "close", {"reply": "再次答复"}),
        (ComplaintStatus.closed, "take", {}),
        (ComplaintStatus.accepted, "reopen", {"reason": "复查"}),
        (ComplaintStatus.in_progress, "reopen", {"reason": "复查"}),
    ],
)
def test_moves_the_lifecycle_does_not_allow_change_nothing(
    as_supervisor, db_url: str, status: ComplaintStatus, action: str, data: dict
) -> None:
    ticket = file_complaint(db_url, key=f"lc-{status.value}-{action}")
    _set(db_url, ticket, status=status, owner="wangfang" if action != "take" else None,
         reply="旧答复" if status is ComplaintStatus.closed else None)
    before = _complaint(db_url, ticket)
    response = post(as_supervisor, f"/desk/complaints/{ticket}/{action}", data)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert ("当前状态不允许此操作" in page) or ("工单已办结" in page)
    after = _complaint(db_url, ticket)
    assert (after.status, after.owner, after.reply, after.updated_at) == (
        before.status, before.owner, before.reply, before.updated_at)
    assert [e[1] for e in _events(db_url, ticket)] == ["created"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("", "办结前请填写答复内容。"),
        ("   \n\t ", "办结前请填写答复内容。"),
        ("\u200b\u200b", "办结前请填写答复内容。"),
        ("答" * 2001, "答复内容最多 2000 字，当前 2001 字"),
        ("a" * 5000, "答复内容最多 2000 字，当前 5000 字"),
    ],
)
def test_bad_replies_are_refused_and_kept_for_editing(as_agent, ticket: str, db_url: str,
                                                      reply: str, message: str) -> None:
    post(as_agent, f"/desk/complaints/{ticket}/start")
    response = post(as_agent, f"/desk/complaints/{ticket}/close", {"reply": reply})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    if reply.strip():
        assert reply in page  # the typed text is not lost
    complaint = _complaint(db_url, ticket)
    assert complaint.status is ComplaintStatus.in_progress and complaint.reply is None


def test_reply_of_exactly_2000_characters_is_accepted(as_agent, ticket: str, db_url: str) -> None:
    post(as_agent, f"/desk/complaints/{ticket}/start")
    reply = "复" * 2000
    assert post(as_agent, f"/desk/complaints/{ticket}/close", {"reply": reply}).status_code == 303
    assert _complaint(db_url, ticket).reply == reply


def test_reply_is_escaped_when_shown(as_agent, ticket: str) -> None:
    post(as_agent, f"/desk/complaints/{ticket}/start")
    post(as_agent, f"/desk/complaints/{ticket}/close",
         {"reply": '<script>alert(1)</script><img src=x onerror="alert(2)">'})
    page = _page(as_agent, f"/desk/complaints/{ticket}")
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# ------------------------------------------------------------------ roles


def test_agent_cannot_take_a_case_someone_owns(as_agent, ticket: str, db_url: str) -> None:
    _set(db_url, ticket, owner="zhaolei")
    response = post(as_agent, f"/desk/complaints/{ticket}/take")
    assert response.status_code == 409
    assert "改派需由督查员操作" in response.get_data(as_text=True)
    assert _complaint(db_url, ticket).owner == "zhaolei"


def test_agent_cannot_work_a_colleagues_case(as_agent, other_agent, ticket: str,
                                             db_url: str) -> None:
    _set(db_url, ticket, owner="zhaolei")
    assert post(as_agent, f"/desk/complaints/{ticket}/start").status_code == 403
    _set(db_url, ticket, status=ComplaintStatus.in_progress)
    response = post(as_agent, f"/desk/complaints/{ticket}/close", {"reply": "已处理"})
    assert response.status_code == 403
    assert "只有承办人或督查员可以处理此工单" in response.get_data(as_text=True)
    complaint = _complaint(db_url, ticket)
    assert complaint.status is ComplaintStatus.in_progress and complaint.reply is None


def test_agent_may_assign_an_unowned_case(as_agent, other_agent, ticket: str, db_url: str) -> None:
    response = post(as_agent, f"/desk/complaints/{ticket}/assign", {"assignee": "zhaolei"})
    assert response.status_code == 303
    assert _complaint(db_url, ticket).owner == "zhaolei"
    assert _events(db_url, ticket)[-1] == ("lihua", "assigned", "zhaolei")


def test_agent_cannot_reassign(as_agent, other_agent, ticket: str, db_url: str) -> None:
    post(as_agent, f"/desk/complaints/{ticket}/take")
    response = post(as_agent, f"/desk/complaints/{ticket}/assign", {"assignee": "zhaolei"})
    assert response.status_code == 403
    assert "此操作仅限督查员" in response.get_data(as_text=True)
    assert _complaint(db_url, ticket).owner == "lihua"


def test_agent_cannot_reopen(as_agent, ticket: str, db_url: str) -> None:
    _set(db_url, ticket, status=ComplaintStatus.closed, owner="lihua", reply="已答复")
    response = post(as_agent, f"/desk/complaints/{ticket}/reopen", {"reason": "想再看看"})
    assert response.status_code == 403
    assert _complaint(db_url, ticket).status is ComplaintStatus.closed


def test_supervisor_reassigns_and_reopens(as_supervisor, agent, other_agent, ticket: str,
                                          db_url: str) -> None:
    _set(db_url, ticket, owner="lihua")
    assert post(as_supervisor, f"/desk/complaints/{ticket}/assign",
                {"assignee": "zhaolei"}).status_code == 303
    assert _complaint(db_url, ticket).owner == "zhaolei"
    assert _events(db_url, ticket)[-1] == ("wangfang", "reassigned", "lihua -> zhaolei")
    page = _page(as_supervisor, f"/desk/complaints/{ticket}")
    assert "由 李华 改派给 赵磊" in page

    _set(db_url, ticket, status=ComplaintStatus.closed, reply="已答复")
    response = post(as_supervisor, f"/desk/complaints/{ticket}/reopen",
                    {"reason": "投诉人来电表示问题未解决"})
    assert response.status_code == 303
    complaint = _complaint(db_url, ticket)
    assert complaint.status is ComplaintStatus.in_progress and complaint.owner == "zhaolei"
    assert _events(db_url, ticket)[-1] == ("wangfang", "reopened", "投诉人来电表示问题未解决")


@pytest.mark.parametrize(
    ("reason", "status"),
    [("", 400), ("  ", 400), ("因" * 501, 400)],
)
def test_reopen_needs_a_reason(as_supervisor, ticket: str, db_url: str, reason: str,
                               status: int) -> None:
    _set(db_url, ticket, status=ComplaintStatus.closed, owner="wangfang", reply="已答复")
    response = post(as_supervisor, f"/desk/complaints/{ticket}/reopen", {"reason": reason})
    assert response.status_code == status
    assert _complaint(db_url, ticket).status is ComplaintStatus.closed


def test_supervisor_closes_an_agents_case(as_supervisor, agent, ticket: str, db_url: str) -> None:
    _set(db_url, ticket, owner="lihua", status=ComplaintStatus.in_progress)
    assert post(as_supervisor, f"/desk/complaints/{ticket}/close",
                {"reply": "督查员代为答复"}).status_code == 303
    assert _events(db_url, ticket)[-1] == ("wangfang", "closed", "督查员代为答复")


@pytest.mark.parametrize("assignee", ["", "nobody", "<b>x</b>", "disabled"])
def test_assigning_to_someone_who_cannot_work_is_refused(as_agent, make_person, ticket: str,
                                                         db_url: str, assignee: str) -> None:
    if assignee == "disabled":
        from bot.records.staff_models import StaffUser

        make_person("disabled", "agent")
        with session_scope(db_url) as session:
            session.execute(update(StaffUser).where(StaffUser.username == "disabled")
                            .values(active=False))
    response = post(as_agent, f"/desk/complaints/{ticket}/assign", {"assignee": assignee})
    assert response.status_code == 400
    assert "请选择一位在岗的工作人员" in response.get_data(as_text=True)
    assert _complaint(db_url, ticket).owner is None


def test_notes_are_recorded_and_limited(as_agent, ticket: str, db_url: str) -> None:
    assert post(as_agent, f"/desk/complaints/{ticket}/note",
                {"note": "已电话联系投诉人，约定周三回复"}).status_code == 303
    assert _events(db_url, ticket)[-1] == ("lihua", "note", "已电话联系投诉人，约定周三回复")
    too_long = post(as_agent, f"/desk/complaints/{ticket}/note", {"note": "记" * 1001})
    assert too_long.status_code == 400
    assert "处理记录最多 1000 字，当前 1001 字" in too_long.get_data(as_text=True)
    assert len(_events(db_url, ticket)) == 2


def test_an_agent_sees_no_reassign_or_reopen_controls(client, agent, db_url: str) -> None:
    ticket = file_complaint(db_url, key="ui")
    _set(db_url, ticket, owner="zhaolei", status=ComplaintStatus.closed, reply="已答复")
    log_in(client, agent)
    page = _page(client, f"/desk/complaints/{ticket}")
    assert "/reopen" not in page and "/assign" not in page
    assert "请联系督查员重新打开" in page
