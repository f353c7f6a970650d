"""Hand-overs and callback requests as the assistant records them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records.errors import RecordsValidationError
from bot.records.handovers import record_callback, record_handover
from bot.records.service_models import CallbackStatus, Handover

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)  # 10:00 in Chengdu


def test_record_handover(db_session: Session) -> None:
    handover = record_handover(
        db_session,
        conversation_id="c1",
        channel="voice",
        reason="no_match_twice",
        intent_path="query_loan>nlu_fallback>nlu_fallback",
        masked_account="102030405060",
        context={"last_intent": "query_loan", "slots": {"ticket_id": None}},
        now=NOW,
    )
    assert handover.masked_account == "1020****5060"
    assert handover.context["slots"] == {"ticket_id": None}
    assert handover.status.value == "open"
    assert db_session.scalar(select(func.count(Handover.id))) == 1


def test_the_callers_last_words_are_kept_masked(db_session: Session) -> None:
    handover = record_handover(
        db_session, conversation_id="c2", channel="webchat", reason="requested",
        context={"last_user_text": "我电话13812345678，账号102030405060，余额才3000元",
                 "active_form": "complaint_form"},
        now=NOW,
    )
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get(Handover, handover.id).context
    assert stored == {"last_user_text": "我电话138****5678，账号1020****5060，余额才***元",
                      "active_form": "complaint_form"}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"reason": "No Match"}, "reason"),
        ({"reason": ""}, "reason"),
        ({"context": {"when": datetime(2026, 1, 1)}}, "context"),
        ({"context": {"blob": "x" * 30_000}}, "context"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"channel": "pager"}, "channel"),
    ],
)
def test_record_handover_validation(
    db_session: Session, overrides: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = dict(conversation_id="c1", channel="voice", reason="user_request")
    kwargs.update(overrides)
    with pytest.raises(RecordsValidationError, match=message):
        record_handover(db_session, **kwargs)


def test_record_callback(db_session: Session) -> None:
    callback = record_callback(db_session, conversation_id="c1", channel="voice",
                               phone="028-8627 9298", reason="after_hours", now=NOW)
    assert (callback.phone, callback.status, callback.done_at) == (
        "02886279298", CallbackStatus.open, None
    )
    with pytest.raises(RecordsValidationError, match="phone"):
        record_callback(db_session, conversation_id="c1", channel="voice", phone="96319")
