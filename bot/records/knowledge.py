"""Reading the policy knowledge base: the answer in force, searches, and usage figures.

The assistant serves, for a topic, the approved version in force on the day
in Chengdu (Beijing time): the one with the latest ``effective_from`` on or
before the day whose ``effective_until`` has not passed. A version approved
today to take effect tomorrow is served from midnight on, with no restart
and no retraining. Functions take the session first and leave the
transaction to the caller; ``now`` is injectable (a fixed clock in tests).

Writing (drafts, approval, new topics) is :mod:`bot.records.knowledge_editing`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from bot.records.base import Channel
from bot.records.clock import shanghai_date, utc_now
from bot.records.misses import conversation_key
from bot.records.knowledge_models import (
    PolicyAsk,
    PolicyTopic,
    PolicyVersion,
    TopicStatus,
    VersionStatus,
)

# A hand-over this long after an answer, in the same conversation, counts
# against the answer (the depositor still needed a person).
HANDOVER_WINDOW_MINUTES = 30


@dataclass(frozen=True)
class Answer:
    """The version of a topic in force, as every channel needs it."""

    topic: str
    title: str
    version_id: int
    version_number: int
    full_text: str
    materials: tuple[str, ...]
    links: tuple[dict[str, str], ...]
    spoken_text: str
    sms_text: str
    effective_from: date
    effective_until: date | None


def _in_force_clause(day: date):  # noqa: ANN202 - a SQL expression
    return and_(
        PolicyVersion.status == VersionStatus.approved,
        PolicyVersion.effective_from.is_not(None),
        PolicyVersion.effective_from <= day,
        or_(PolicyVersion.effective_until.is_(None), PolicyVersion.effective_until >= day),
    )


def version_in_force(session: Session, topic: PolicyTopic, day: date) -> PolicyVersion | None:
    return session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.topic_id == topic.id, _in_force_clause(day))
        .order_by(PolicyVersion.effective_from.desc(), PolicyVersion.number.desc())
        .limit(1)
    )


def find_topic(session: Session, key: str) -> PolicyTopic | None:
    return session.scalar(select(PolicyTopic).where(PolicyTopic.key == key))


def answer_in_force(session: Session, key: str, now: datetime | None = None) -> Answer | None:
    """The answer to serve for topic ``key`` today (Beijing time), or None.

    None when the topic is unknown, retired, or has no approved version in
    force today (the assistant then says it cannot answer this one and offers
    a person).
    """
    topic = find_topic(session, key)
    if topic is None or topic.status is TopicStatus.retired:
        return None
    version = version_in_force(session, topic, shanghai_date(now))
    if version is None or version.effective_from is None:
        return None
    return Answer(
        topic=topic.key, title=topic.title, version_id=version.id,
        version_number=version.number, full_text=version.full_text,
        materials=tuple(version.materials or ()), links=tuple(version.links or ()),
        spoken_text=version.spoken_text, sms_text=version.sms_text,
        effective_from=version.effective_from, effective_until=version.effective_until,
    )


def answer_by_version(session: Session, version_id: int) -> PolicyVersion | None:
    """An approved version by id (the phone's SMS of the answer the caller just heard)."""
    version = session.get(PolicyVersion, version_id)
    return version if version is not None and version.status is VersionStatus.approved else None


def record_ask(session: Session, *, topic: str, version_id: int | None, channel: str,
               sender_id: str, now: datetime | None = None) -> PolicyAsk:
    """Count one answer given (the desk's "asked" figure)."""
    ask = PolicyAsk(
        topic_key=topic, version_id=version_id,
        channel=Channel(channel) if channel in Channel._value2member_map_ else Channel.other,
        conversation_key=conversation_key(sender_id), asked_at=utc_now(now),
        handover_after=False,
    )
    session.add(ask)
    session.flush()
    return ask


def mark_handover(session: Session, sender_id: str, now: datetime | None = None) -> int:
    """A hand-over in this conversation: the answers given shortly before it did not suffice.

    Returns how many asks were marked (each is counted once).
    """
    since = utc_now(now) - timedelta(minutes=HANDOVER_WINDOW_MINUTES)
    result = session.execute(
        update(PolicyAsk)
        .where(PolicyAsk.conversation_key == conversation_key(sender_id),
               PolicyAsk.handover_after.is_(False), PolicyAsk.asked_at >= since)
        .values(handover_after=True)
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class TopicUsage:
    asked: int
    handovers: int

    @property
    def handover_rate(self) -> float:
        return self.handovers / self.asked if self.asked else 0.0


def usage_by_topic(session: Session, since: datetime | None = None) -> dict[str, TopicUsage]:
    """Per topic: answers given and how many a hand-over followed."""
    query = select(PolicyAsk.topic_key, func.count(PolicyAsk.id),
                   func.sum(case((PolicyAsk.handover_after.is_(True), 1), else_=0)))
    if since is not None:
        query = query.where(PolicyAsk.asked_at >= utc_now(since))
    rows = session.execute(query.group_by(PolicyAsk.topic_key)).all()
    return {key: TopicUsage(int(asked), int(handovers or 0)) for key, asked, handovers in rows}


def search_topics(session: Session, text: str = "", category: str | None = None) -> list[PolicyTopic]:
    """Topics whose key, title, scope or any version's text contains ``text``."""
    query = select(PolicyTopic).order_by(PolicyTopic.category, PolicyTopic.key)
    if category:
        query = query.where(PolicyTopic.category == category)
    needle = text.strip()
    if needle:
        like = f"%{needle}%"
        in_versions = select(PolicyVersion.topic_id).where(
            or_(PolicyVersion.full_text.like(like), PolicyVersion.spoken_text.like(like)))
        query = query.where(or_(
            PolicyTopic.key.like(like), PolicyTopic.title.like(like),
            PolicyTopic.scope.like(like), PolicyTopic.id.in_(in_versions)))
    return list(session.scalars(query))


def live_topic_keys(session: Session) -> list[str]:
    return list(session.scalars(select(PolicyTopic.key).where(
        PolicyTopic.status == TopicStatus.live).order_by(PolicyTopic.key)))
