"""Hand-over and callback queues: context shown, take/done, phone reveal, who and when."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.records.db import session_scope
from tests.bot.gateway.desk.conftest import log_in, post
from bot.records.handovers import record_callback, record_handover
from bot.records.service_models import CallbackRequest, CallbackStatus, Handover, HandoverStatus
from bot.records.staff_models import DeskAuditEvent


@pytest.fixture
def handover_id(db_url: str) -> int:
    with session_scope(db_url) as session:
        return record_handover(
            session, conversation_id="conv-h1", channel="voice", reason="not_understood",
            intent_path="greet > nlu_fallback > nlu_fallback", masked_account="510100123456",
            context={"last_user_text": "我那个钱啥时候到账嘛", "active_form": None},
        ).id


@pytest.fixture
def callback_id(db_url: str) -> int:
    with session_scope(db_url) as session:
        return record_callback(
            session, conversation_id="conv-c1", channel="voice", phone="13900001111",
            reason="非人工服务时间来电，咨询租房提取",
        ).id


def _handover(db_url: str, ident: int) -> Handover:
    with session_scope(db_url) as session:
        return session.get(Handover, ident)


def _audit(db_url: str) -> list[tuple[str, str, str | None, str | None]]:
    with session_scope(db_url) as session:
        return [(e.actor, e.action, e.target_type, e.target_id)
                for e in session.scalars(select(DeskAuditEvent).order_by(DeskAuditEvent.id))
                if e.action not in ("login", "logout", "staff_created")]


def test_handover_queue_shows_the_context(as_agent, handover_id: int) -> None:
    page = as_agent.get("/desk/handovers").get_data(as_text=True)
    assert "助手未能理解" in page
    assert "我那个钱啥时候到账嘛" in page
    assert "greet &gt; nlu_fallback &gt; nlu_fallback" in page
    assert "5101****3456" in page and "510100123456" not in page
    assert "电话" in page and "待接听" in page


@pytest.mark.parametrize("stored", ["recorded", "stored_raw_before_masking"])
def test_the_queue_shows_the_last_words_masked(as_agent, db_url: str, stored: str) -> None:
    said = "我电话13812345678，账号102030405060，余额才12,345.60元"
    with session_scope(db_url) as session:
        handover = record_handover(session, conversation_id="conv-h2", channel="webchat",
                                   reason="requested", context={"last_user_text": said})
        if stored != "recorded":  # written before the context was masked
            handover.context = {"last_user_text": said}
    page = as_agent.get("/desk/handovers").get_data(as_text=True)
    assert "我电话138****5678，账号1020****5060，余额才***元" in page
    for secret in ("13812345678", "102030405060", "12,345.60"):
        assert secret not in page


def test_take_then_done_records_who(as_agent, handover_id: int, db_url: str) -> None:
    assert post(as_agent, f"/desk/handovers/{handover_id}/take",
                form_page="/desk/handovers").status_code == 303
    assert _handover(db_url, handover_id).status is HandoverStatus.taken
    page = as_agent.get("/desk/handovers?status=taken").get_data(as_text=True)
    assert "Lihua" not in page and "李华" in page
    assert post(as_agent, f"/desk/handovers/{handover_id}/done",
                form_page="/desk/handovers").status_code == 303
    assert _handover(db_url, handover_id).status is HandoverStatus.done
    assert _audit(db_url) == [
        ("lihua", "handover_taken", "handover", str(handover_id)),
        ("lihua", "handover_done", "handover", str(handover_id)),
    ]


def test_a_colleague_cannot_finish_a_taken_handover(client, agent, other_agent, supervisor,
                                                    handover_id: int, db_url: str) -> None:
    log_in(client, agent)
    post(client, f"/desk/handovers/{handover_id}/take", form_page="/desk/handovers")
    post(client, "/desk/logout")
    log_in(client, other_agent)
    response = post(client, f"/desk/handovers/{handover_id}/done", form_page="/desk/handovers")
    assert response.status_code == 403
    assert _handover(db_url, handover_id).status is HandoverStatus.taken
    post(client, "/desk/logout")
    log_in(client, supervisor)
    assert post(client, f"/desk/handovers/{handover_id}/done",
                form_page="/desk/handovers").status_code == 303
    assert _handover(db_url, handover_id).status is HandoverStatus.done


@pytest.mark.parametrize(("first", "second"), [("take", "take"), ("done", "take"),
                                               ("done", "done")])
def test_handover_moves_out_of_order_change_nothing(as_agent, handover_id: int, db_url: str,
                                                    first: str, second: str) -> None:
    post(as_agent, f"/desk/handovers/{handover_id}/{first}", form_page="/desk/handovers")
    before = _handover(db_url, handover_id).status
    events = len(_audit(db_url))
    response = post(as_agent, f"/desk/handovers/{handover_id}/{second}",
                    form_page="/desk/handovers")
    assert response.status_code == 409
    assert "当前状态不允许此操作" in response.get_data(as_text=True)
    assert _handover(db_url, handover_id).status is before
    assert len(_audit(db_url)) == events


@pytest.mark.parametrize("path", ["/desk/handovers/999/take", "/desk/handovers/999/done",
                                  "/desk/callbacks/999/done", "/desk/callbacks/999/reveal"])
def test_unknown_queue_items_are_404(as_agent, path: str) -> None:
    response = post(as_agent, path, form_page="/desk/handovers")
    assert response.status_code == 404
    assert "未找到" in response.get_data(as_text=True)


@pytest.mark.parametrize("status", ["open", "taken", "done", "all", "bogus"])
def test_handover_tabs(as_agent, handover_id: int, status: str) -> None:
    response = as_agent.get(f"/desk/handovers?status={status}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert ("我那个钱啥时候到账嘛" in page) == (status in ("open", "all", "bogus"))
    assert ("部分筛选条件无效" in page) == (status == "bogus")


def test_callback_phone_is_masked_until_revealed_and_logged(as_agent, callback_id: int,
                                                            db_url: str) -> None:
    page = as_agent.get("/desk/callbacks").get_data(as_text=True)
    assert "139****1111" in page and "13900001111" not in page
    assert "非人工服务时间来电，咨询租房提取" in page
    response = post(as_agent, f"/desk/callbacks/{callback_id}/reveal", form_page="/desk/callbacks")
    assert response.status_code == 200
    assert "13900001111" in response.get_data(as_text=True)
    assert _audit(db_url) == [("lihua", "callback_phone_revealed", "callback", str(callback_id))]
    assert "13900001111" not in as_agent.get("/desk/callbacks").get_data(as_text=True)


def test_callback_done_with_result(as_agent, callback_id: int, db_url: str) -> None:
    response = post(as_agent, f"/desk/callbacks/{callback_id}/done",
                    {"result": "已回电，告知租房提取所需材料"}, form_page="/desk/callbacks")
    assert response.status_code == 303
    with session_scope(db_url) as session:
        row = session.get(CallbackRequest, callback_id)
        assert row.status is CallbackStatus.done and row.done_at is not None
        event = session.scalar(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "callback_done"))
        assert event.actor == "lihua" and event.detail == "已回电，告知租房提取所需材料"
    page = as_agent.get("/desk/callbacks?status=done").get_data(as_text=True)
    assert "已回电，告知租房提取所需材料" in page and "李华" in page


def test_callback_result_too_long_changes_nothing(as_agent, callback_id: int,
                                                  db_url: str) -> None:
    response = post(as_agent, f"/desk/callbacks/{callback_id}/done", {"result": "回" * 201},
                    form_page="/desk/callbacks")
    assert response.status_code == 400
    assert "回拨结果最多 200 字，当前 201 字" in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert session.get(CallbackRequest, callback_id).status is CallbackStatus.open


def test_callback_done_twice_is_refused(as_agent, callback_id: int) -> None:
    post(as_agent, f"/desk/callbacks/{callback_id}/done", form_page="/desk/callbacks")
    second = post(as_agent, f"/desk/callbacks/{callback_id}/done", form_page="/desk/callbacks")
    assert second.status_code == 409
