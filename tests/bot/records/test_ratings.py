"""Service ratings: a 1-5 score, stored with its comment."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records.base import Channel
from bot.records.errors import RecordsValidationError
from bot.records.ratings import record_rating
from bot.records.service_models import Rating

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)  # 10:00 in Chengdu


def test_record_rating(db_session: Session) -> None:
    rating = record_rating(db_session, conversation_id="c1", channel="webchat", score=5,
                           comment=" 很好 ", now=NOW)
    assert (rating.score, rating.comment, rating.channel, rating.created_at) == (
        5, "很好", Channel.webchat, NOW
    )
    assert db_session.scalar(select(func.count(Rating.id))) == 1


@pytest.mark.parametrize("score", [0, 6, True, "5", 4.5])
def test_record_rating_rejects_bad_scores(db_session: Session, score: Any) -> None:
    with pytest.raises(RecordsValidationError, match="score"):
        record_rating(db_session, conversation_id="c1", channel="voice", score=score)
