"""Service figures from the records: complaints, ratings, hand-overs, conversations by day.

What the desk's service overview (服务概览) shows beside the tracker's
figures (:mod:`bot.gateway.desk.tracker`). Dates are Beijing dates, ranges
inclusive; read-only. The function takes the session first.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.records.account_models import AuthSession
from bot.records.clock import local_day, local_day_bounds, shanghai_date
from bot.records.service_models import (
    CallbackRequest,
    CallbackStatus,
    Complaint,
    ComplaintStatus,
    Handover,
    Rating,
)

MAX_OVERVIEW_DAYS = 92


@dataclass
class RecordsFigures:
    """What the records database says about a date range (Beijing dates, inclusive)."""

    start: date
    end: date
    complaints_by_category: dict[str, int] = field(default_factory=dict)
    complaints_by_status: dict[str, int] = field(default_factory=dict)
    complaints_total: int = 0
    overdue_now: int = 0
    ratings_by_score: dict[int, int] = field(default_factory=dict)
    ratings_count: int = 0
    ratings_average: Decimal | None = None
    handovers_by_reason: dict[str, int] = field(default_factory=dict)
    handovers_total: int = 0
    callbacks_open: int = 0
    conversations_by_day: dict[date, dict[str, int]] = field(default_factory=dict)


def records_figures(
    session: Session, start: date, end: date, *, today: date | None = None
) -> RecordsFigures:
    """Complaints, ratings, hand-overs and the conversations the records know of."""
    today = today or shanghai_date()
    begin, finish = local_day_bounds(start, end)
    figures = RecordsFigures(start=start, end=end)

    in_range = (Complaint.created_at >= begin, Complaint.created_at < finish)
    for category, count in session.execute(
        select(Complaint.category, func.count(Complaint.id)).where(*in_range)
        .group_by(Complaint.category)
    ):
        figures.complaints_by_category[category.value] = int(count)
    for status, count in session.execute(
        select(Complaint.status, func.count(Complaint.id)).where(*in_range)
        .group_by(Complaint.status)
    ):
        figures.complaints_by_status[status.value] = int(count)
    figures.complaints_total = sum(figures.complaints_by_status.values())
    figures.overdue_now = session.scalar(
        select(func.count(Complaint.id)).where(
            Complaint.status != ComplaintStatus.closed, Complaint.due_date < today
        )
    ) or 0

    scores = Counter(
        int(score)
        for (score,) in session.execute(
            select(Rating.score).where(Rating.created_at >= begin, Rating.created_at < finish)
        )
    )
    figures.ratings_by_score = {score: scores.get(score, 0) for score in range(5, 0, -1)}
    figures.ratings_count = sum(scores.values())
    if figures.ratings_count:
        average = Decimal(sum(s * n for s, n in scores.items())) / figures.ratings_count
        figures.ratings_average = average.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    for reason, count in session.execute(
        select(Handover.reason, func.count(Handover.id))
        .where(Handover.created_at >= begin, Handover.created_at < finish)
        .group_by(Handover.reason)
    ):
        figures.handovers_by_reason[reason] = int(count)
    figures.handovers_total = sum(figures.handovers_by_reason.values())
    figures.callbacks_open = session.scalar(
        select(func.count(CallbackRequest.id)).where(CallbackRequest.status == CallbackStatus.open)
    ) or 0

    seen: set[tuple[date, str, str]] = set()
    sources: Sequence[Any] = (
        (Complaint.conversation_id, Complaint.channel, Complaint.created_at),
        (Handover.conversation_id, Handover.channel, Handover.created_at),
        (Rating.conversation_id, Rating.channel, Rating.created_at),
        (AuthSession.conversation_id, AuthSession.channel, AuthSession.created_at),
    )
    for conversation, channel, created in sources:
        rows = session.execute(
            select(conversation, channel, created).where(
                conversation.is_not(None), created >= begin, created < finish
            )
        )
        for conversation_id, channel_code, at in rows:
            seen.add((local_day(at), channel_code.value, conversation_id))
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_seen: dict[str, tuple[date, str]] = {}
    for day, channel_code, conversation_id in sorted(seen):
        # A conversation counts once, on the first day and channel it appears.
        first_seen.setdefault(conversation_id, (day, channel_code))
    for day, channel_code in first_seen.values():
        by_day[day][channel_code] += 1
    figures.conversations_by_day = {day: dict(counts) for day, counts in by_day.items()}
    return figures
