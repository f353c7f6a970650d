"""The desk's SMS outbox (短信发送): supervisors only; counts, masked numbers,
no text; filter by status; a failed, unknown or undelivered SMS queued again
with CSRF, audited."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.records.staff_models import DeskAuditEvent
from bot.records.voice_models import SmsMessage, SmsStatus
from tests.bot.gateway.desk.conftest import post

BODY = "【成都住房公积金】您的投诉已受理"


def _outbox(db_url: str) -> dict[str, int]:
    """One SMS in each interesting state (one of them 8 days old); ids by name."""
    now = utc_now()
    rows = {
        "pending": SmsMessage(status=SmsStatus.pending, attempts=1, error="Twilio 20429 (HTTP 429)",
                              next_attempt_at=now + timedelta(minutes=1)),
        "failed": SmsMessage(status=SmsStatus.failed, attempts=1, error="Twilio 21610 (HTTP 400)"),
        "unknown": SmsMessage(status=SmsStatus.unknown, attempts=1, error="ReadTimeout"),
        "delivered": SmsMessage(status=SmsStatus.sent, attempts=1, provider_sid="SM" + "1" * 32,
                                delivery_status="delivered", delivery_at=now, sent_at=now),
        "undelivered": SmsMessage(status=SmsStatus.sent, attempts=1, provider_sid="SM" + "2" * 32,
                                  delivery_status="undelivered", delivery_error="30003",
                                  delivery_at=now, sent_at=now),
        "old": SmsMessage(status=SmsStatus.sent, attempts=1, provider_sid="SM" + "3" * 32),
    }
    with session_scope(db_url) as session:
        for n, (name, row) in enumerate(rows.items()):
            row.to_number, row.body = f"1391234{n:04d}", BODY
            row.purpose, row.reference = "complaint_ticket", f"TS{n:010d}"
            row.created_at = now - timedelta(days=8 if name == "old" else 0)
            session.add(row)
        session.flush()
        return {name: row.id for name, row in rows.items()}


def test_the_outbox_needs_a_supervisor(client, as_agent, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ids = _outbox(db_url)
    assert as_agent.get("/desk/sms").status_code == 403
    assert "/desk/sms" not in as_agent.get("/desk/complaints").get_data(as_text=True)
    refused = post(as_agent, f"/desk/sms/{ids['failed']}/retry", form_page="/desk/complaints")
    assert refused.status_code == 403
    with session_scope(db_url) as session:
        assert session.get(SmsMessage, ids["failed"]).status is SmsStatus.failed


def test_without_a_log_in_the_outbox_is_not_shown(client, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _outbox(db_url)
    response = client.get("/desk/sms")
    assert response.status_code in (302, 303) and "/desk/login" in response.headers["Location"]


def test_a_supervisor_sees_counts_and_masked_rows_and_filters(
        as_supervisor, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _outbox(db_url)
    home = as_supervisor.get("/desk/complaints").get_data(as_text=True)
    assert 'href="/desk/sms"' in home and "短信发送" in home
    html = as_supervisor.get("/desk/sms").get_data(as_text=True)
    assert "今天生成短信" in html and "近 7 天生成短信" in html
    assert "待发送 1；发送中 0；已提交 2；发送失败 1；结果不明 1" in html
    assert "已送达 1" in html and "未送达 1" in html
    assert "139****0001" in html and "13912340001" not in html and BODY not in html
    assert "Twilio 21610 (HTTP 400)" in html and "错误码 30003" in html
    assert "等待短信平台答复超时" in html and "可能让对方收到两条" in html
    assert html.count("重新发送</button>") == 3  # failed, unknown, undelivered
    failed = as_supervisor.get("/desk/sms?status=failed").get_data(as_text=True)
    assert "139****0001" in failed and "139****0002" not in failed
    undelivered = as_supervisor.get("/desk/sms?status=undelivered").get_data(as_text=True)
    assert "139****0004" in undelivered and "139****0003" not in undelivered
    odd = as_supervisor.get("/desk/sms?status=bogus").get_data(as_text=True)
    assert "部分筛选条件无效" in odd and "139****0005" in odd


def test_a_supervisor_queues_a_failed_sms_again_audited(
        as_supervisor, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ids = _outbox(db_url)
    assert as_supervisor.post(f"/desk/sms/{ids['failed']}/retry").status_code in (400, 403)
    response = post(as_supervisor, f"/desk/sms/{ids['undelivered']}/retry", form_page="/desk/sms")
    assert response.status_code == 303
    assert "已重新排队发送该短信" in as_supervisor.get("/desk/sms").get_data(as_text=True)
    with session_scope(db_url) as session:
        row = session.get(SmsMessage, ids["undelivered"])
        assert (row.status, row.attempts, row.provider_sid, row.delivery_status) == (
            SmsStatus.pending, 0, None, None)
        event = session.scalars(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "sms_retried")).one()
        assert (event.actor, event.target_type, event.target_id, event.detail) == (
            "wangfang", "sms", str(ids["undelivered"]), "complaint_ticket sent/undelivered")
    assert "重新发送短信" in as_supervisor.get("/desk/audit").get_data(as_text=True)
    # A delivered one is not sent again; an unknown id is the desk's 404.
    refused = post(as_supervisor, f"/desk/sms/{ids['delivered']}/retry", form_page="/desk/sms")
    assert refused.status_code == 409 and "不能重新发送" in refused.get_data(as_text=True)
    assert post(as_supervisor, "/desk/sms/999999/retry", form_page="/desk/sms").status_code == 404
