"""Review of knowledge base versions: submit (anyone), approve and send back (supervisors).

A supervisor approves a submitted version with the day it takes effect (and,
optionally, its last day); from that day, Beijing time, the assistant serves
it. Sending back needs a note for the author. A refusal shows the topic page
again with the reason, the problems found and what the supervisor typed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, request, url_for

from bot.gateway.db import commit_or_refusal, db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import current_staff, notify, supervisor_required
from bot.gateway.desk.knowledge import topic_page
from bot.gateway.desk.knowledge_forms import REVIEW_FIELDS, FormErrors, read_day, typed
from bot.records.errors import DeskValidationError
from bot.records.knowledge_editing import approve, get_version, reject, submit
from bot.records.knowledge_models import PolicyVersion


def _act(version: PolicyVersion, change: Callable[[], Any], done: str,
         review: dict[str, str] | None = None, **params: Any) -> Any:
    """Run one change; a refusal shows the topic page with the reason and what was typed."""
    refusal = commit_or_refusal(change)
    if refusal is not None:
        return topic_page(version.topic, refusal.status, shown_id=version.id, error=refusal.code,
                          error_params=refusal.params,
                          problems=refusal.params.get("problems") or [],
                          review=review or {}, review_id=version.id)
    notify(done, **params)
    return redirect(url_for("desk.knowledge_topic", key=version.topic.key, v=version.id),
                    code=303)


@bp.post("/knowledge/version/<int:version_id>/submit")
def knowledge_submit(version_id: int) -> Any:
    version = get_version(db(), version_id)
    return _act(version, lambda: submit(db(), current_staff(), version), "knowledge_submitted")


@bp.post("/knowledge/version/<int:version_id>/approve")
@supervisor_required
def knowledge_approve(version_id: int) -> Any:
    version = get_version(db(), version_id)
    review = typed(request.form, REVIEW_FIELDS)

    def change() -> None:
        errors = FormErrors()
        start = read_day(review["effective_from"], errors)
        until = read_day(review["effective_until"], errors)
        if errors.codes:
            code, params = errors.codes[0]
            raise DeskValidationError(code, **params)
        if start is None:
            raise DeskValidationError("knowledge_effective_from_required")
        approve(db(), current_staff(), version, effective_from=start, effective_until=until,
                note=review["note"])

    return _act(version, change, "knowledge_approved", review,
                day=review["effective_from"].strip())


@bp.post("/knowledge/version/<int:version_id>/reject")
@supervisor_required
def knowledge_reject(version_id: int) -> Any:
    version = get_version(db(), version_id)
    review = typed(request.form, REVIEW_FIELDS)
    return _act(version, lambda: reject(db(), current_staff(), version, note=review["note"]),
                "knowledge_rejected", review)
