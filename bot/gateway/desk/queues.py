"""Hand-overs (转人工) and callback requests (预约回拨): the queues people work."""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from bot.gateway.db import commit_or_refusal, db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import current_staff, notify
from bot.records.handovers import (
    finish_callback,
    finish_handover,
    list_callbacks,
    list_handovers,
    reveal_callback_phone,
    take_handover,
)
from bot.records.service_models import CallbackStatus, HandoverStatus
from bot.records.staff import staff_names

ALL = "all"


def _status(enum_class: Any, default: str) -> tuple[Any, str, bool]:
    raw = (request.args.get("status") or default).strip()[:20]
    if raw == ALL:
        return None, ALL, False
    try:
        return enum_class(raw), raw, False
    except ValueError:
        return enum_class(default), default, True


def _queue_page(template: str, statuses: Any, lister: Any, status: int, **extra: Any) -> Any:
    """One queue page (hand-overs or callbacks), filtered by the ?status= of the request."""
    selected, raw, invalid = _status(statuses, statuses.open.value)
    return render_template(
        template,
        rows=lister(db(), selected),
        selected=raw,
        statuses=[item.value for item in statuses] + [ALL],
        filter_invalid=invalid,
        names=staff_names(db()),
        **extra,
    ), status


def _handover_page(status: int = 200, **extra: Any) -> Any:
    return _queue_page("desk/handovers.html", HandoverStatus, list_handovers, status, **extra)


@bp.get("/handovers")
def handover_list() -> Any:
    return _handover_page()


def _handover_change(handover_id: int, action: str) -> Any:
    change = take_handover if action == "take" else finish_handover
    refusal = commit_or_refusal(lambda: change(db(), current_staff(), handover_id))
    if refusal is not None:
        return _handover_page(refusal.status, error=refusal.code, error_params=refusal.params)
    notify(f"handover_{action}_done")
    return redirect(url_for("desk.handover_list", status=request.args.get("status") or None),
                    code=303)


@bp.post("/handovers/<int:handover_id>/<any(take, done):action>")
def handover_action(handover_id: int, action: str) -> Any:
    return _handover_change(handover_id, action)


def _callback_page(status: int = 200, **extra: Any) -> Any:
    return _queue_page("desk/callbacks.html", CallbackStatus, list_callbacks, status, **extra)


@bp.get("/callbacks")
def callback_list() -> Any:
    return _callback_page()


@bp.post("/callbacks/<int:callback_id>/reveal")
def callback_reveal(callback_id: int) -> Any:
    """Show one full phone number on this response only; the look is logged."""
    row = reveal_callback_phone(db(), current_staff(), callback_id)
    db().commit()
    return _callback_page(revealed={row.id: row.phone})


@bp.post("/callbacks/<int:callback_id>/done")
def callback_done(callback_id: int) -> Any:
    result = request.form.get("result", "")[:2000]
    refusal = commit_or_refusal(
        lambda: finish_callback(db(), current_staff(), callback_id, result))
    if refusal is not None:
        return _callback_page(refusal.status, error=refusal.code, error_params=refusal.params,
                              error_id=callback_id, form={"result": result})
    notify("callback_done")
    return redirect(url_for("desk.callback_list"), code=303)
