"""模型发布: supervisors retrain and publish the assistant's model, and roll it back.

The page lists the policy topics added on the desk that wait for training,
the 重新训练并发布 button (one release at a time), and every release with its
outcome. A release's own page shows its stage and progress (refreshed every
3 s by the page's ``<meta http-equiv="refresh">`` while it runs: the desk's
CSP allows no inline script), its held-out accuracy against the model in
service, and its message. The latest published release can be rolled back to
the model before it. Only supervisors (督查) see these pages; every action is
an audit row. The work itself is :mod:`bot.knowledge.release`.
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for

from bot.gateway.db import db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import current_staff, notify, settings, supervisor_required
from bot.knowledge import release as releasing
from bot.records.errors import DeskConflictError
from bot.records.knowledge_editing import awaiting_training
from bot.records.knowledge_models import ReleaseStatus
from bot.records.releases import (
    begin_release,
    fail_stale,
    get_release,
    list_releases,
    rollback_candidate,
    running_release,
)


def _stale() -> None:
    """A release left running for over an hour counts as failed, whoever looks first."""
    if fail_stale(db()):
        db().commit()


def _overview(status: int = 200, **extra: Any) -> Any:
    _stale()
    return render_template(
        "desk/releases.html",
        waiting=awaiting_training(db()),
        running=running_release(db()),
        releases=list_releases(db()),
        candidate=rollback_candidate(db()),
        **extra,
    ), status


@bp.get("/releases")
@supervisor_required
def release_list() -> Any:
    return _overview()


@bp.post("/releases")
@supervisor_required
def release_start() -> Any:
    """Start a release (refused while one runs) and show its page."""
    db().commit()  # the release's lock must be the first statement of its transaction
    try:
        release = begin_release(db(), current_staff())
    except DeskConflictError as exc:
        db().rollback()
        return _overview(exc.status, error=exc.code)
    db().commit()
    releasing.launch(release.id, releasing.ReleaseSetup.from_settings(settings()))
    notify("release_started")
    return redirect(url_for("desk.release_detail", release_id=release.id), code=303)


@bp.get("/releases/<int:release_id>")
@supervisor_required
def release_detail(release_id: int) -> Any:
    _stale()
    release = get_release(db(), release_id)
    candidate = rollback_candidate(db())
    return render_template(
        "desk/release.html",
        release=release,
        running=release.status is ReleaseStatus.running,
        can_roll_back=candidate is not None and candidate.id == release.id,
        drop=(None if release.accuracy is None or release.baseline_accuracy is None
              else release.accuracy - release.baseline_accuracy),
        tolerance=settings().release_tolerance,
    )


@bp.post("/releases/<int:release_id>/rollback")
@supervisor_required
def release_rollback(release_id: int) -> Any:
    """Put every replica back on the model before this release."""
    release = get_release(db(), release_id)
    try:
        failed = releasing.rollback(db(), current_staff(), release,
                                    releasing.ReleaseSetup.from_settings(settings()))
    except DeskConflictError as exc:
        db().rollback()
        notify(exc.code, "error")
        return redirect(url_for("desk.release_detail", release_id=release_id), code=303)
    db().commit()
    if failed:
        notify("release_rollback_failed", "error", count=len(failed))
    else:
        notify("release_rolled_back")
    return redirect(url_for("desk.release_detail", release_id=release_id), code=303)
