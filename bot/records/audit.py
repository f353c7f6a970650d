"""The desk's audit log: who did what, when, other than complaint changes.

Every staff action that changes something and is not a complaint change
(those are :class:`~bot.records.service_models.ComplaintEvent` rows, written by
:mod:`bot.records.complaint_lifecycle`) is one
:class:`~bot.records.staff_models.DeskAuditEvent`, written with :func:`audit`
in the same transaction as the change. The actor is a
:class:`~bot.records.staff_models.StaffUser` or None for the command line
(``create_supervisor``). Functions take the session first and leave the
transaction to the caller.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.clock import utc_now
from bot.records.staff_models import DeskAuditEvent, StaffUser

Actor = StaffUser | None  # None: the command line (create_supervisor)


def actor_name(actor: Actor) -> str:
    """The name the audit log shows for ``actor`` (``"cli"`` for the command line)."""
    return actor.username if actor is not None else "cli"


def audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | int | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> DeskAuditEvent:
    """Record one staff action that is not a complaint change."""
    event = DeskAuditEvent(
        at=utc_now(now),
        staff_id=actor.id if actor is not None else None,
        actor=actor_name(actor),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


def list_audit(session: Session, *, limit: int = 200) -> list[DeskAuditEvent]:
    """The latest audit events, newest first."""
    return list(
        session.scalars(
            select(DeskAuditEvent).order_by(DeskAuditEvent.at.desc(), DeskAuditEvent.id.desc())
            .limit(limit)
        )
    )


def latest_audit(
    session: Session, target_type: str, target_ids: Iterable[int], action: str
) -> dict[int, DeskAuditEvent]:
    """For each of ``target_ids``, its latest ``action`` event (ids without one are left out)."""
    ids = [str(value) for value in target_ids]
    if not ids:
        return {}
    rows = session.scalars(
        select(DeskAuditEvent)
        .where(
            DeskAuditEvent.target_type == target_type,
            DeskAuditEvent.target_id.in_(ids),
            DeskAuditEvent.action == action,
        )
        .order_by(DeskAuditEvent.at, DeskAuditEvent.id)
    )
    return {int(row.target_id): row for row in rows if row.target_id}
