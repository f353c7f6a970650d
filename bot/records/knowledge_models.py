"""The policy knowledge base (政策知识库): topics, their answer versions, and how they are used.

Schema owner for migration ``0005_knowledge``; conventions are those of
:mod:`bot.records.base`. The NLU decides *which* topic a question is about
(``faq/<key>``); what the assistant says is the topic's answer version in
force on the day (Beijing time), read by :mod:`bot.records.knowledge`.
Versions are written and approved on the desk (:mod:`bot.records.knowledge_editing`);
an approved version is never edited, a change is a new version.

- :class:`PolicyTopic`: one topic, its NLU key, title and category; a topic
  added on the desk waits for training (``awaiting_training``) until a model
  that knows it is published (:class:`ModelRelease`).
- :class:`PolicyVersion`: one answer version: the full text (web chat), the
  materials and links, the spoken text (phone, ≤ 120 characters), the SMS
  text, the sources with grade and date, the facts still to be confirmed, and
  the days it is in force.
- :class:`PolicyExample`: example questions of a topic added on the desk
  (at least 10 before it can be trained); seed topics keep theirs in ``data/nlu``.
- :class:`PolicyAsk`: one answer given (topic, version, channel, hashed
  conversation) and whether a hand-over followed in the same conversation.
- :class:`ModelRelease`: one "retrain and publish" run and its outcome.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.records.base import Base, Channel, enum_column
from bot.records.coltypes import UTCDateTime


class TopicStatus(str, enum.Enum):
    """已上线 / 待训练 (added on the desk, not yet known to the model) / 已停用."""

    live = "live"
    awaiting_training = "awaiting"
    retired = "retired"


class VersionStatus(str, enum.Enum):
    """草稿 → 待审核 → 已批准 (or 已退回, back to the author as a draft)."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


class ReleaseStatus(str, enum.Enum):
    """训练中 → 已发布; or 未发布 (accuracy dropped), 失败, 已回滚."""

    running = "running"
    published = "published"
    refused = "refused"
    failed = "failed"
    rolled_back = "rolled_back"


class PolicyTopic(Base):
    __tablename__ = "policy_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(40))
    ask: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[TopicStatus] = mapped_column(enum_column(TopicStatus, "status"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(50))

    versions: Mapped[list[PolicyVersion]] = relationship(
        back_populates="topic", order_by="PolicyVersion.number")
    examples: Mapped[list[PolicyExample]] = relationship(
        back_populates="topic", order_by="PolicyExample.id")


class PolicyVersion(Base):
    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("topic_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("policy_topics.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(enum_column(VersionStatus, "status"),
                                                  index=True)
    full_text: Mapped[str] = mapped_column(Text)
    materials: Mapped[list[str]] = mapped_column(JSON)
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    spoken_text: Mapped[str] = mapped_column(String(200))
    sms_text: Mapped[str] = mapped_column(String(500))
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    unconfirmed: Mapped[list[str]] = mapped_column(JSON)
    grade: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)
    author: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(50))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(String(500))

    topic: Mapped[PolicyTopic] = relationship(back_populates="versions")


class PolicyExample(Base):
    __tablename__ = "policy_examples"
    __table_args__ = (UniqueConstraint("topic_id", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("policy_topics.id"), index=True)
    text: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    topic: Mapped[PolicyTopic] = relationship(back_populates="examples")


class PolicyAsk(Base):
    """One answer given. ``conversation_key`` is the SHA-256 of Rasa's sender id."""

    __tablename__ = "policy_asks"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_key: Mapped[str] = mapped_column(String(60), index=True)
    version_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    conversation_key: Mapped[str] = mapped_column(String(64), index=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    handover_after: Mapped[bool] = mapped_column(Boolean, default=False)


class ModelRelease(Base):
    """One "retrain and publish" run started on the desk."""

    __tablename__ = "model_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ReleaseStatus] = mapped_column(enum_column(ReleaseStatus, "status"),
                                                  index=True)
    stage: Mapped[str] = mapped_column(String(40))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    model_path: Mapped[str | None] = mapped_column(String(500))
    previous_model_path: Mapped[str | None] = mapped_column(String(500))
    accuracy: Mapped[float | None] = mapped_column(Float)
    baseline_accuracy: Mapped[float | None] = mapped_column(Float)
    topics: Mapped[list[str]] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(String(1000))
