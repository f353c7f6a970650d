"""Service ratings (服务质量评价): the 1–5 score a person gives at the end of a conversation.

Written by the rating action; counted by :mod:`bot.records.figures`. The
function takes the session first and leaves the transaction to the caller.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.records.base import Channel
from bot.records.clock import utc_now
from bot.records.errors import RecordsValidationError
from bot.records.service_models import Rating
from bot.records.validation import MAX_CONVERSATION_ID_LENGTH, checked_enum, checked_text

MAX_COMMENT_LENGTH = 500


def record_rating(
    session: Session,
    *,
    conversation_id: str,
    channel: Channel | str,
    score: int,
    comment: str | None = None,
    now: datetime | None = None,
) -> Rating:
    """Store a 1–5 rating given at the end of a conversation."""
    conversation = checked_text(conversation_id, "conversation_id", MAX_CONVERSATION_ID_LENGTH,
                                required=True)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise RecordsValidationError(f"score must be an integer from 1 to 5, got {score!r}")
    rating = Rating(
        conversation_id=conversation,
        channel=checked_enum(Channel, channel, "channel"),
        score=score,
        comment=checked_text(comment, "comment", MAX_COMMENT_LENGTH),
        created_at=utc_now(now),
    )
    session.add(rating)
    session.flush()
    return rating
