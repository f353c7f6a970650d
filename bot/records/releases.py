"""Model releases in the records: one running at a time, its stages, the model in service.

A release (:class:`~bot.records.knowledge_models.ModelRelease`) is started on
the desk by a supervisor and run by :mod:`bot.knowledge.release`. These
functions are its records side; they take the session first and leave the
transaction to the caller.

- :func:`begin_release` refuses a second release while one runs. The check and
  the new row are one transaction that first takes the table's write lock
  (PostgreSQL ``LOCK TABLE``; on SQLite a write statement, which takes the
  database's one write lock), so two supervisors pressing the button at once
  cannot both start one.
- A row still ``running`` an hour after it started is counted as failed
  (:func:`fail_stale`): the process that ran it has gone (a restart), or it
  hung. Nothing else may leave a row ``running``.
- :func:`model_in_service` is what the replicas serve according to the
  records: the model of the latest published release and its accuracy, or,
  after a rollback, the model before it (with the accuracy it had then).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.records.audit import Actor, actor_name, audit
from bot.records.clock import utc_now
from bot.records.errors import DeskConflictError, DeskNotFoundError
from bot.records.knowledge_editing import awaiting_training
from bot.records.knowledge_models import ModelRelease, PolicyTopic, ReleaseStatus, TopicStatus

STALE_AFTER = timedelta(hours=1)
STALE_MESSAGE = "超过 1 小时仍未完成（运行它的进程可能已重启或卡住），视为失败。"
STAGE_QUEUED = "准备中"
IN_SERVICE = (ReleaseStatus.published, ReleaseStatus.rolled_back)


@dataclass(frozen=True)
class ServiceModel:
    """The model the replicas serve according to the records (path None: not known yet)."""

    path: str | None
    accuracy: float | None
    release_id: int | None


def _lock(session: Session) -> None:
    """Serialise release starts: the table's write lock until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE model_releases IN SHARE ROW EXCLUSIVE MODE"))
    else:  # SQLite: any write statement takes the database's single write lock
        session.execute(text("UPDATE model_releases SET id = id WHERE 1 = 0"))


def get_release(session: Session, release_id: int) -> ModelRelease:
    release = session.get(ModelRelease, release_id)
    if release is None:
        raise DeskNotFoundError("release_not_found")
    return release


def fail_stale(session: Session, now: datetime | None = None) -> int:
    """Mark failed every release running for longer than :data:`STALE_AFTER`."""
    moment = utc_now(now)
    stale = list(session.scalars(select(ModelRelease).where(
        ModelRelease.status == ReleaseStatus.running,
        ModelRelease.started_at < moment - STALE_AFTER)))
    for release in stale:
        release.status = ReleaseStatus.failed
        release.message = STALE_MESSAGE
        release.finished_at = moment
    session.flush()
    return len(stale)


def running_release(session: Session) -> ModelRelease | None:
    return session.scalar(select(ModelRelease).where(
        ModelRelease.status == ReleaseStatus.running).order_by(ModelRelease.id.desc()))


def begin_release(session: Session, actor: Actor, now: datetime | None = None) -> ModelRelease:
    """A new running release of the topics awaiting training; refused while another runs.

    Call it first in its transaction: the lock must come before any read
    (on SQLite a transaction that has read cannot wait for the write lock).
    """
    _lock(session)
    fail_stale(session, now)
    if running_release(session) is not None:
        raise DeskConflictError("release_running")
    release = ModelRelease(status=ReleaseStatus.running, stage=STAGE_QUEUED, progress=0,
                           started_by=actor_name(actor), started_at=utc_now(now),
                           topics=[topic.key for topic in awaiting_training(session)])
    session.add(release)
    session.flush()
    audit(session, actor, "model_release_start", target_type="model_release",
          target_id=release.id, detail="、".join(release.topics) or "无新主题", now=now)
    return release


def set_stage(session: Session, release: ModelRelease, stage: str, progress: int) -> None:
    release.stage, release.progress = stage, max(0, min(100, progress))
    session.flush()


def finish(session: Session, release: ModelRelease, status: ReleaseStatus, *,
           message: str | None = None, now: datetime | None = None) -> ModelRelease:
    """End a release: published, refused or failed (the release row is its record)."""
    release.status = status
    release.finished_at = utc_now(now)
    if status is ReleaseStatus.published:
        release.progress = 100
    if message is not None:
        release.message = message[:1000]
    session.flush()
    return release


def check_rollback(session: Session, release: ModelRelease) -> None:
    """Refuse a rollback of anything but the published release in service."""
    candidate = rollback_candidate(session)
    if candidate is None or candidate.id != release.id:
        raise DeskConflictError("release_not_rollbackable")


def rolled_back(session: Session, actor: Actor, release: ModelRelease, *,
                now: datetime | None = None) -> ModelRelease:
    """Record that every replica serves ``release``'s previous model again.

    The topics that release brought live wait for training again: the model
    in service does not know them.
    """
    for topic in session.scalars(select(PolicyTopic).where(
            PolicyTopic.key.in_(list(release.topics or ())))):
        if topic.status is TopicStatus.live:
            topic.status = TopicStatus.awaiting_training
    release.status = ReleaseStatus.rolled_back
    release.message = f"已由 {actor_name(actor)} 回滚到上一个模型。"
    audit(session, actor, "model_release_rollback", target_type="model_release",
          target_id=release.id, detail=release.previous_model_path, now=now)
    return release


def rollback_failed(session: Session, actor: Actor, release: ModelRelease, why: str, *,
                    now: datetime | None = None) -> None:
    """Record a rollback some replica refused (the release stays as it was)."""
    audit(session, actor, "model_release_rollback_failed", target_type="model_release",
          target_id=release.id, detail=why[:500], now=now)


def model_in_service(session: Session) -> ServiceModel:
    """The model of the latest published release, or the one before a rollback."""
    latest = session.scalar(select(ModelRelease).where(ModelRelease.status.in_(IN_SERVICE))
                            .order_by(ModelRelease.id.desc()))
    if latest is None:
        return ServiceModel(None, None, None)
    if latest.status is ReleaseStatus.published:
        return ServiceModel(latest.model_path, latest.accuracy, latest.id)
    return ServiceModel(latest.previous_model_path, latest.baseline_accuracy, None)


def rollback_candidate(session: Session) -> ModelRelease | None:
    """The release that may be rolled back: the latest in service, if it is published."""
    latest = session.scalar(select(ModelRelease).where(ModelRelease.status.in_(IN_SERVICE))
                            .order_by(ModelRelease.id.desc()))
    if latest is None or latest.status is not ReleaseStatus.published:
        return None
    return latest if latest.previous_model_path else None


def list_releases(session: Session, limit: int = 50) -> list[ModelRelease]:
    return list(session.scalars(select(ModelRelease).order_by(ModelRelease.id.desc())
                                .limit(limit)))
