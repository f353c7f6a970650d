"""Complaint list and detail: take, assign, move through the lifecycle, reply, reopen.

The detail page shows the contact phone masked; the full number only in the
answer to the reveal button, after the look is written to the audit log. The
saved conversation is shown masked (``desk_redact``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, redirect, render_template, request, url_for

from bot.gateway.db import commit_or_refusal, db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import current_staff, notify
from bot.records.base import Channel
from bot.records.clock import shanghai_date
from bot.records.complaint_lifecycle import (
    add_complaint_note,
    assign_complaint,
    close_complaint,
    reopen_complaint,
    reveal_complaint_contact,
    start_complaint,
    take_complaint,
)
from bot.records.complaints import (
    PAGE_SIZE,
    ComplaintFilters,
    complaint_events,
    get_complaint,
    is_overdue,
    list_complaints,
    owners_in_use,
)
from bot.records.identifiers import normalize_ticket_id
from bot.records.redaction import redact_text
from bot.records.service_models import Complaint, ComplaintCategory, ComplaintStatus
from bot.records.staff import list_staff, normalize_username, staff_names

OWNER_NONE = "_none"
OWNER_ME = "_me"
MAX_PAGE = 10_000
# Form text is cut far above every limit only to bound memory; the limits
# themselves are checked (and reported) by the records layer.
MAX_FORM_TEXT = 20_000


@bp.app_template_filter("desk_redact")
def _desk_redact(value: str | None) -> str:
    """Kept conversation text as staff may read it: numbers and amounts masked.

    Transcripts are masked when captured; this masks again on the page, for
    records captured before that (masking twice changes nothing)."""
    return redact_text(value)


def _parse_filters(args: Any) -> tuple[ComplaintFilters, dict[str, str], bool]:
    """Filters from the query string; unknown values are dropped and reported."""
    raw = {name: (args.get(name) or "").strip()[:60]
           for name in ("status", "category", "channel", "owner", "overdue", "q")}
    invalid = False

    def enum_value(enum_class: Any, key: str) -> Any:
        nonlocal invalid
        if not raw[key]:
            return None
        try:
            return enum_class(raw[key])
        except ValueError:
            invalid = True
            raw[key] = ""
            return None

    status = enum_value(ComplaintStatus, "status")
    category = enum_value(ComplaintCategory, "category")
    channel = enum_value(Channel, "channel")
    owner: str | None = None
    if raw["owner"] == OWNER_NONE:
        owner = ""
    elif raw["owner"] == OWNER_ME:
        owner = current_staff().username
    elif raw["owner"]:
        owner = normalize_username(raw["owner"])
        if owner is None:
            invalid = True
            raw["owner"] = ""
    ticket = None
    if raw["q"]:
        ticket = normalize_ticket_id(raw["q"])
        if ticket is None:
            invalid = True
            raw["q"] = ""
    overdue = raw["overdue"] in ("1", "on", "true")
    filters = ComplaintFilters(status=status, category=category, channel=channel,
                                  owner=owner, overdue=overdue, ticket=ticket)
    return filters, raw, invalid


def _page(args: Any) -> int:
    try:
        page = int(args.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


@bp.get("/complaints")
def complaint_list() -> Any:
    filters, raw, invalid = _parse_filters(request.args)
    page = _page(request.args)
    today = shanghai_date()
    rows, total = list_complaints(db(), filters, today=today, page=page)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    query = {key: value for key, value in raw.items() if value}
    return render_template(
        "desk/complaints.html",
        complaints=rows,
        total=total,
        page=page,
        pages=pages,
        filters=raw,
        query=query,
        filter_invalid=invalid,
        overdue={row.id for row in rows if is_overdue(row, today)},
        owners=owners_in_use(db()),
        names=staff_names(db()),
        statuses=[status.value for status in ComplaintStatus],
        channels=[channel.value for channel in Channel],
    )


def _detail(complaint: Complaint, status: int = 200, **extra: Any) -> Any:
    today = shanghai_date()
    return render_template(
        "desk/complaint.html",
        complaint=complaint,
        events=complaint_events(db(), complaint),
        overdue=is_overdue(complaint, today),
        due_in_days=(complaint.due_date - today).days,
        colleagues=list_staff(db(), active_only=True),
        names=staff_names(db()),
        **extra,
    ), status


@bp.get("/complaints/<ticket_id>")
def complaint_detail(ticket_id: str) -> Any:
    return _detail(get_complaint(db(), ticket_id))


def _act(ticket_id: str, change: Callable[[], Any], done: str, form: dict[str, str]) -> Any:
    """Run one change; on refusal show the page again with the message and the typed text."""
    refusal = commit_or_refusal(change)
    if refusal is not None:
        complaint = get_complaint(db(), ticket_id)
        return _detail(complaint, refusal.status, error=refusal.code,
                       error_params=refusal.params, form=form)
    notify(done)
    return redirect(url_for("desk.complaint_detail", ticket_id=_canonical(ticket_id)), code=303)


def _canonical(ticket_id: str) -> str:
    normalized = normalize_ticket_id(ticket_id)
    if normalized is None:
        abort(404, description="complaint_not_found")
    return normalized


def _text(name: str) -> str:
    return request.form.get(name, "")[:MAX_FORM_TEXT]


@bp.post("/complaints/<ticket_id>/take")
def complaint_take(ticket_id: str) -> Any:
    return _act(ticket_id, lambda: take_complaint(db(), current_staff(), ticket_id),
                "ok_taken", {})


@bp.post("/complaints/<ticket_id>/assign")
def complaint_assign(ticket_id: str) -> Any:
    assignee = request.form.get("assignee", "")[:60]
    return _act(
        ticket_id,
        lambda: assign_complaint(db(), current_staff(), ticket_id, assignee),
        "ok_assigned",
        {"assignee": assignee},
    )


@bp.post("/complaints/<ticket_id>/start")
def complaint_start(ticket_id: str) -> Any:
    return _act(ticket_id, lambda: start_complaint(db(), current_staff(), ticket_id),
                "ok_started", {})


@bp.post("/complaints/<ticket_id>/close")
def complaint_close(ticket_id: str) -> Any:
    reply = _text("reply")
    return _act(ticket_id, lambda: close_complaint(db(), current_staff(), ticket_id, reply),
                "ok_closed", {"reply": reply})


@bp.post("/complaints/<ticket_id>/reopen")
def complaint_reopen(ticket_id: str) -> Any:
    reason = _text("reason")
    return _act(ticket_id, lambda: reopen_complaint(db(), current_staff(), ticket_id, reason),
                "ok_reopened", {"reason": reason})


@bp.post("/complaints/<ticket_id>/note")
def complaint_note(ticket_id: str) -> Any:
    note = _text("note")
    return _act(ticket_id, lambda: add_complaint_note(db(), current_staff(), ticket_id, note),
                "ok_noted", {"note": note})


@bp.post("/complaints/<ticket_id>/reveal")
def complaint_reveal(ticket_id: str) -> Any:
    """Show the full contact phone on this response only; the look is logged first."""
    phone = reveal_complaint_contact(db(), current_staff(), ticket_id)
    db().commit()
    complaint = get_complaint(db(), ticket_id)
    return _detail(complaint, revealed_phone=phone or "")


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def unknown_page(unknown: str) -> Any:
    """Any other address under /desk (after the log-in check): the Chinese 404 page."""
    abort(404)
