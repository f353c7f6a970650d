"""Keeping the knowledge base current: drafts, approval, new topics, the seed.

The rule of the desk's 政策知识库: any staff member writes a draft (a new
version of a topic) and submits it; only a supervisor approves it, with the
day it takes effect, and only when every check of
:func:`bot.knowledge.content.problems` passes (at least one source, each with
a date; spoken text ≤ 120 characters; no deferral of public facts to a
person). An approved version is never changed: a correction is a new version.
Every step is one :func:`bot.records.audit.audit` row in the same transaction.

A topic added on the desk (with at least :data:`MIN_EXAMPLES` example
questions) is ``awaiting_training`` until a model that knows it is published
(:mod:`bot.knowledge.release`). Functions take the session first and leave the
transaction to the caller; refusals are :class:`~bot.records.errors.DeskError`.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.knowledge.content import (
    CATEGORIES,
    KEY_RE,
    Content,
    SeedTopic,
    Source,
    problems,
)
from bot.records.audit import Actor, actor_name, audit
from bot.records.clock import utc_now
from bot.records.errors import (
    DeskConflictError,
    DeskNotFoundError,
    DeskPermissionError,
    DeskValidationError,
)
from bot.records.knowledge_models import (
    PolicyExample,
    PolicyTopic,
    PolicyVersion,
    TopicStatus,
    VersionStatus,
)
from bot.records.staff_models import StaffRole

MIN_EXAMPLES = 10
EXAMPLE_MAX = 200
EDITABLE = (VersionStatus.draft, VersionStatus.rejected)


def _require_supervisor(actor: Actor) -> None:
    if actor is not None and actor.role is not StaffRole.supervisor:
        raise DeskPermissionError("supervisor_only")


def _refuse_problems(found: list[str]) -> None:
    if found:
        raise DeskValidationError("knowledge_problems", problems=found)


def get_version(session: Session, version_id: int) -> PolicyVersion:
    version = session.get(PolicyVersion, version_id)
    if version is None:
        raise DeskNotFoundError("knowledge_version_not_found")
    return version


def get_topic(session: Session, key: str) -> PolicyTopic:
    topic = session.scalar(select(PolicyTopic).where(PolicyTopic.key == key))
    if topic is None:
        raise DeskNotFoundError("knowledge_topic_not_found")
    return topic


def _next_number(session: Session, topic: PolicyTopic) -> int:
    latest = session.scalar(select(func.max(PolicyVersion.number))
                            .where(PolicyVersion.topic_id == topic.id))
    return int(latest or 0) + 1


def _write(version: PolicyVersion, content: Content) -> None:
    version.full_text = content.full_text.strip()
    version.spoken_text = content.spoken_text.strip()
    version.sms_text = content.sms_text.strip()
    version.materials = list(content.materials)
    version.links = content.links_json
    version.sources = content.sources_json
    version.unconfirmed = list(content.unconfirmed)
    version.grade = content.grade


def content_of(version: PolicyVersion) -> Content:
    """A stored version's words, for checks and for copying into a new draft."""
    return Content(
        full_text=version.full_text, spoken_text=version.spoken_text, sms_text=version.sms_text,
        materials=tuple(version.materials or ()),
        links=tuple((link.get("title", ""), link.get("url", "")) for link in version.links or ()),
        sources=tuple(Source.from_dict(raw) for raw in version.sources or ()),
        unconfirmed=tuple(version.unconfirmed or ()),
    )


def create_draft(session: Session, actor: Actor, topic: PolicyTopic, content: Content, *,
                 effective_from: date | None = None, effective_until: date | None = None,
                 now: datetime | None = None) -> PolicyVersion:
    """A new draft version of ``topic`` (its number is the next free one)."""
    _refuse_problems(problems(content, effective_from=effective_from,
                              effective_until=effective_until))
    version = PolicyVersion(
        topic_id=topic.id, number=_next_number(session, topic), status=VersionStatus.draft,
        effective_from=effective_from, effective_until=effective_until,
        author=actor_name(actor), created_at=utc_now(now),
    )
    _write(version, content)
    session.add(version)
    session.flush()
    audit(session, actor, "knowledge_draft", target_type="policy_version", target_id=version.id,
          detail=f"{topic.key} v{version.number}", now=now)
    return version


def update_draft(session: Session, actor: Actor, version: PolicyVersion, content: Content, *,
                 effective_from: date | None = None, effective_until: date | None = None,
                 now: datetime | None = None) -> PolicyVersion:
    """Change a draft (or a version sent back) before it is submitted."""
    if version.status not in EDITABLE:
        raise DeskConflictError("knowledge_not_editable")
    _refuse_problems(problems(content, effective_from=effective_from,
                              effective_until=effective_until))
    _write(version, content)
    version.effective_from, version.effective_until = effective_from, effective_until
    if version.status is VersionStatus.rejected:
        version.status = VersionStatus.draft
    audit(session, actor, "knowledge_edit", target_type="policy_version", target_id=version.id,
          detail=f"{version.topic.key} v{version.number}", now=now)
    return version


def submit(session: Session, actor: Actor, version: PolicyVersion,
           now: datetime | None = None) -> PolicyVersion:
    """Send a draft to a supervisor; it must already meet every approval rule but the date."""
    if version.status not in EDITABLE:
        raise DeskConflictError("knowledge_not_editable")
    found = problems(content_of(version), effective_from=version.effective_from,
                     effective_until=version.effective_until, for_approval=True)
    _refuse_problems([p for p in found if "生效日期" not in p])
    version.status = VersionStatus.submitted
    version.submitted_at = utc_now(now)
    audit(session, actor, "knowledge_submit", target_type="policy_version",
          target_id=version.id, detail=f"{version.topic.key} v{version.number}", now=now)
    return version


def approve(session: Session, actor: Actor, version: PolicyVersion, *, effective_from: date,
            effective_until: date | None = None, note: str = "",
            now: datetime | None = None) -> PolicyVersion:
    """A supervisor approves a submitted version, to take effect on ``effective_from``.

    From that day (Beijing time) it is the version served, until a later
    approved version takes effect or ``effective_until`` passes.
    """
    _require_supervisor(actor)
    if version.status is not VersionStatus.submitted:
        raise DeskConflictError("knowledge_not_submitted")
    _refuse_problems(problems(content_of(version), effective_from=effective_from,
                              effective_until=effective_until, for_approval=True))
    version.status = VersionStatus.approved
    version.effective_from, version.effective_until = effective_from, effective_until
    version.reviewed_by, version.reviewed_at = actor_name(actor), utc_now(now)
    version.review_note = note.strip()[:500] or None
    until = f" 至 {effective_until.isoformat()}" if effective_until else ""
    audit(session, actor, "knowledge_approve", target_type="policy_version",
          target_id=version.id,
          detail=f"{version.topic.key} v{version.number} 自 {effective_from.isoformat()}{until}",
          now=now)
    return version


def reject(session: Session, actor: Actor, version: PolicyVersion, *, note: str,
           now: datetime | None = None) -> PolicyVersion:
    """A supervisor sends a submitted version back to its author, with the reason."""
    _require_supervisor(actor)
    if version.status is not VersionStatus.submitted:
        raise DeskConflictError("knowledge_not_submitted")
    if not note.strip():
        raise DeskValidationError("knowledge_reject_note_required")
    version.status = VersionStatus.rejected
    version.reviewed_by, version.reviewed_at = actor_name(actor), utc_now(now)
    version.review_note = note.strip()[:500]
    audit(session, actor, "knowledge_reject", target_type="policy_version",
          target_id=version.id, detail=f"{version.topic.key} v{version.number}", now=now)
    return version


def _clean_examples(examples: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in examples:
        text = " ".join(str(raw).split())
        if text:
            if len(text) > EXAMPLE_MAX:
                raise DeskValidationError("knowledge_example_too_long")
            seen.setdefault(text, None)
    return list(seen)


def add_topic(session: Session, actor: Actor, *, key: str, category: str, title: str,
              ask: str, scope: str, examples: Iterable[str],
              now: datetime | None = None) -> PolicyTopic:
    """A new topic with its example questions; it waits for training before it is served."""
    key = key.strip()
    if not KEY_RE.fullmatch(key):
        raise DeskValidationError("knowledge_key_invalid")
    if category not in CATEGORIES:
        raise DeskValidationError("knowledge_category_invalid")
    if not title.strip() or len(title.strip()) > 40 or not ask.strip() or len(ask) > 100:
        raise DeskValidationError("knowledge_title_invalid")
    if session.scalar(select(PolicyTopic.id).where(PolicyTopic.key == key)) is not None:
        raise DeskConflictError("knowledge_key_taken")
    texts = _clean_examples([ask, *examples])
    if len(texts) < MIN_EXAMPLES:
        raise DeskValidationError("knowledge_examples_too_few", minimum=MIN_EXAMPLES)
    topic = PolicyTopic(key=key, category=category, title=title.strip(), ask=ask.strip(),
                        scope=scope.strip()[:300], status=TopicStatus.awaiting_training,
                        created_at=utc_now(now), created_by=actor_name(actor))
    session.add(topic)
    session.flush()
    for text in texts:
        session.add(PolicyExample(topic_id=topic.id, text=text, added_by=actor_name(actor),
                                  created_at=utc_now(now)))
    session.flush()
    audit(session, actor, "knowledge_topic_add", target_type="policy_topic", target_id=topic.id,
          detail=f"{key}（{len(texts)}条例句）", now=now)
    return topic


def add_examples(session: Session, actor: Actor, topic: PolicyTopic, examples: Iterable[str],
                 now: datetime | None = None) -> int:
    """More example questions for a topic; returns how many were new."""
    known = {e.text for e in topic.examples}
    new = [text for text in _clean_examples(examples) if text not in known]
    for text in new:
        session.add(PolicyExample(topic_id=topic.id, text=text, added_by=actor_name(actor),
                                  created_at=utc_now(now)))
    session.flush()
    if new:
        audit(session, actor, "knowledge_examples_add", target_type="policy_topic",
              target_id=topic.id, detail=f"{topic.key} +{len(new)}", now=now)
    return len(new)


def awaiting_training(session: Session) -> list[PolicyTopic]:
    return list(session.scalars(select(PolicyTopic).where(
        PolicyTopic.status == TopicStatus.awaiting_training).order_by(PolicyTopic.key)))


def mark_live(session: Session, keys: Iterable[str]) -> None:
    """Topics the published model knows are served from now on."""
    for topic in session.scalars(select(PolicyTopic).where(PolicyTopic.key.in_(list(keys)))):
        if topic.status is TopicStatus.awaiting_training:
            topic.status = TopicStatus.live


def load_seed(session: Session, topics: Iterable[SeedTopic], now: datetime | None = None) -> int:
    """Load the seed topics that are not in the records yet (their versions approved).

    Idempotent: a topic already present is left as staff keep it. Returns
    how many topics were added. The seed files are checked before
    (:func:`bot.knowledge.seed.read_seed`).
    """
    added = 0
    for seed in topics:
        if session.scalar(select(PolicyTopic.id).where(PolicyTopic.key == seed.key)):
            continue
        topic = PolicyTopic(key=seed.key, category=seed.category, title=seed.title, ask=seed.ask,
                            scope=seed.scope[:300], status=TopicStatus.live,
                            created_at=utc_now(now), created_by="seed")
        session.add(topic)
        session.flush()
        for number, entry in enumerate(seed.versions, start=1):
            version = PolicyVersion(
                topic_id=topic.id, number=number, status=VersionStatus.approved,
                effective_from=entry.effective_from, effective_until=entry.effective_until,
                author="seed", created_at=utc_now(now), reviewed_by="seed",
                reviewed_at=utc_now(now), review_note="随知识库初始内容载入",
            )
            _write(version, entry.content)
            session.add(version)
        session.flush()
        added += 1
    if added:
        audit(session, None, "knowledge_seed", detail=f"{added} topics", now=now)
    return added
