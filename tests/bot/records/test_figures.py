"""Service figures from the records: a conversation counts once, ratings are averaged exactly."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot.records.clock import shanghai_date, utc_now
from bot.records.figures import records_figures
from bot.records.handovers import record_handover
from bot.records.ratings import record_rating


def test_records_figures_count_a_conversation_once(db_session: Session) -> None:
    now = utc_now()
    record_rating(db_session, conversation_id="c1", channel="voice", score=5, now=now)
    record_handover(db_session, conversation_id="c1", channel="voice",
                    reason="requested", now=now)
    record_rating(db_session, conversation_id="c2", channel="webchat", score=3, now=now)
    db_session.commit()
    today = shanghai_date(now)
    figures = records_figures(db_session, today, today)
    assert figures.conversations_by_day == {today: {"voice": 1, "webchat": 1}}
    assert figures.ratings_average == 4 and figures.ratings_count == 2
    assert figures.ratings_by_score == {5: 1, 4: 0, 3: 1, 2: 0, 1: 0}
