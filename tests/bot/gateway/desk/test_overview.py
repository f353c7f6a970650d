"""Service overview (figures, charts, tracker store) and the CSV export."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.records.clock import shanghai_date
from bot.records.db import session_scope
from tests.bot.gateway.desk.conftest import beijing, csrf_from, file_complaint, make_tracker_db
from bot.records.handovers import record_callback, record_handover
from bot.records.ratings import record_rating
from bot.records.service_models import Complaint, ComplaintStatus
from bot.records.staff_models import DeskAuditEvent


def _tracker_file(tracker_url: str) -> Path:
    return Path(tracker_url.removeprefix("sqlite:///"))


@pytest.fixture
def records(db_url: str) -> None:
    """Ratings, hand-overs and complaints spread over the last days."""
    with session_scope(db_url) as session:
        for index, score in enumerate((5, 4, 4, 2)):
            record_rating(session, conversation_id=f"r{index}", channel="voice",
                                  score=score, now=beijing(-index))
        record_handover(session, conversation_id="h1", channel="webchat",
                                reason="requested", now=beijing(-1))
        record_callback(session, conversation_id="c1", channel="voice",
                                phone="13900001111")
    file_complaint(db_url, key="o1", category="efficiency", now=beijing(-2))
    file_complaint(db_url, key="o2", category="efficiency", now=beijing(-3))
    late = file_complaint(db_url, key="o3", category="misconduct", channel="voice",
                          now=beijing(-4))
    with session_scope(db_url) as session:
        session.execute(update(Complaint).where(Complaint.ticket_id == late)
                        .values(due_date=shanghai_date() - timedelta(days=1)))
    # Outside the default 14 days: not counted.
    file_complaint(db_url, key="old", category="policy", now=beijing(-40))


def test_overview_without_tracker_store_says_so_in_chinese(as_agent, records,
                                                          tracker_url: str) -> None:
    response = as_agent.get("/desk/overview")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "未找到对话记录库（Rasa 对话存储）" in page
    assert "按业务记录估算" in page
    assert "对话记录库不可用，暂无法统计。" in page
    assert not _tracker_file(tracker_url).exists()  # read-only: nothing was created


def test_overview_records_figures(as_agent, records) -> None:
    page = as_agent.get("/desk/overview").get_data(as_text=True)
    # 3.75 = (5 + 4 + 4 + 2) / 4
    assert "3.75" in page and "共 4 次评价" in page
    assert "当前超期 2 件" in page  # o3, and "old" (filed 40 days ago, never worked)
    assert "办事效率：2" in page and "违规违纪：1" in page and "政策执行：0" in page
    assert "已受理：3" in page
    assert "非常满意：1" in page and "满意：2" in page and "不满意：1" in page
    assert "来电人要求人工：1" in page
    assert '<svg class="chart"' in page
    # Conversations the records know of: 4 ratings + 1 hand-over + 3 complaints, 8 in all.
    assert '<div class="tile-value">8</div>' in page


def test_overview_reads_the_tracker_store(as_agent, records, tracker_url: str) -> None:
    path = make_tracker_db(_tracker_file(tracker_url), [
        {"sender": "a", "channel": "voice", "at": beijing(0), "intents": ["greet", "query_balance"]},
        {"sender": "b", "channel": "webchat", "at": beijing(-1),
         "intents": ["query_loan", "nlu_fallback", "nlu_fallback"], "handover": True},
        {"sender": "c", "channel": "webchat", "at": beijing(-1), "intents": ["faq"],
         "gateway_intents": ["authenticated", "authenticated"]},
        {"sender": "d", "channel": "cmdline", "at": beijing(-2), "intents": ["query_balance"]},
        {"sender": "old", "channel": "voice", "at": beijing(-30), "intents": ["nlu_fallback"]},
    ])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    page = as_agent.get("/desk/overview").get_data(as_text=True)
    assert "未找到对话记录库" not in page and "来自对话记录" in page
    assert '<div class="tile-value">4</div>' in page  # a, b, c, d
    assert "75.0%" in page and "3 / 4 个会话未转人工" in page
    # 2 fallbacks of 7 typed turns (the two "/authenticated" are the gateway's): 28.6 %
    assert "28.6%" in page and "2 / 7 句未能识别" in page
    assert "查询余额与缴存：2" in page and "查询贷款：1" in page and "政策咨询：1" in page
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_unreadable_tracker_store_is_reported_not_raised(as_agent, tracker_url: str) -> None:
    path = _tracker_file(tracker_url)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    response = as_agent.get("/desk/overview")
    assert response.status_code == 200
    assert "对话记录库（Rasa 对话存储）暂时无法读取" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-13-01&end=2026-12-01", "日期格式应为 年-月-日"),
        ("start=yesterday", "日期格式应为 年-月-日"),
        ("start=2026-11-20&end=2026-11-01", "开始日期晚于结束日期"),
        ("start=2025-01-01&end=2026-11-01", "所选时间段过长"),
    ],
)
def test_bad_date_ranges_fall_back_with_a_message(as_agent, query: str, message: str) -> None:
    response = as_agent.get(f"/desk/overview?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    today = shanghai_date()
    assert f"{today - timedelta(days=13)} 至 {today}" in page


def test_date_range_is_used(as_agent, records) -> None:
    day = shanghai_date() - timedelta(days=40)
    page = as_agent.get(f"/desk/overview?start={day}&end={day}").get_data(as_text=True)
    assert "政策执行：1" in page and "办事效率" in page and "办事效率：2" not in page


# ------------------------------------------------------------------- export


def _export(client, start: str | None, end: str | None):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_from(client, "/desk/overview")}
    if start is not None:
        data["start"] = start
    if end is not None:
        data["end"] = end
    return client.post("/desk/export", data=data)


def test_supervisor_exports_complaints_as_csv(as_supervisor, records, db_url: str) -> None:
    formula = file_complaint(db_url, key="formula", description="=HYPERLINK(\"http://x\",\"点我\")",
                             now=beijing(-1))
    with session_scope(db_url) as session:
        session.execute(update(Complaint).where(Complaint.ticket_id == formula)
                        .values(owner="wangfang", status=ComplaintStatus.in_progress))
    start, end = shanghai_date() - timedelta(days=13), shanghai_date()
    response = _export(as_supervisor, str(start), str(end))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="complaints_{start:%Y%m%d}_{end:%Y%m%d}.csv"')
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:5] == ["工单号", "受理时间", "渠道", "投诉类别", "状态"]
    assert len(rows) == 1 + 4  # o1, o2, o3, formula; "old" is outside the range
    by_ticket = {row[0]: row for row in rows[1:]}
    row = by_ticket[formula]
    assert row[2] == "网页在线" and row[3] == "服务态度" and row[4] == "处理中" and row[5] == "王芳"
    assert row[8].startswith("'=HYPERLINK")  # neutralised for spreadsheets
    assert row[11] == "138****5678"
    assert "13812345678" not in body
    assert [r[7] for r in rows[1:]].count("是") == 1  # the one overdue case
    with session_scope(db_url) as session:
        event = session.scalar(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "complaints_exported"))
        assert event.actor == "wangfang" and event.detail.endswith("rows=4")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (None, None, "请填写导出的开始日期和结束日期"),
        ("2026-11-01", None, "请填写导出的开始日期和结束日期"),
        ("2026-11-31", "2026-12-01", "导出日期有误"),
        ("2026-12-01", "2026-11-01", "导出日期有误"),
        ("2024-01-01", "2026-11-01", "一次最多导出一年"),
    ],
)
def test_bad_export_ranges_export_nothing(as_supervisor, db_url: str, start, end,
                                          message: str) -> None:
    response = _export(as_supervisor, start, end)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert session.scalar(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "complaints_exported")) is None


def test_export_needs_post_with_csrf(as_supervisor) -> None:
    assert as_supervisor.get("/desk/export").status_code == 404
    response = as_supervisor.post("/desk/export", data={"start": "2026-11-01",
                                                        "end": "2026-11-02"})
    assert response.status_code == 400


def test_agent_sees_the_overview_but_not_the_export(as_agent) -> None:
    page = as_agent.get("/desk/overview").get_data(as_text=True)
    assert "服务概览" in page and "下载 CSV" not in page
