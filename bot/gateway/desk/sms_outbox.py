"""The SMS outbox (短信发送), for supervisors: what was sent, what failed, what Twilio says.

Supervisors only. Counts by status for today and the last 7 days (Beijing
time) and by Twilio's delivery status; the latest rows, filtered by status,
with the number masked (``mask_phone``), never the text: kind, attempts, last
error (class, HTTP status and Twilio code only), delivery status and error
code. A failed, unknown or undelivered SMS can be queued again (a POST with the
CSRF token, audited in the same transaction); the gateway makes the first
attempt at once when Twilio is configured, the sender process the rest.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, redirect, render_template, request, url_for

from bot.gateway.db import commit_or_refusal, db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import current_staff, notify, supervisor_required
from bot.records.clock import local_day_bounds, shanghai_date
from bot.records.sms_outbox import can_retry, outbox_counts, outbox_rows, retry_by_supervisor
from bot.records.voice_models import SmsStatus

FILTERS = [status.value for status in SmsStatus] + ["undelivered"]
ALL = "all"


def _page(status: int = 200, **extra: Any) -> Any:
    raw = (request.args.get("status") or ALL).strip()[:20]
    invalid = raw not in FILTERS and raw != ALL
    selected = ALL if invalid else raw
    today = shanghai_date()
    today_start, _ = local_day_bounds(today, today)
    week_start, _ = local_day_bounds(today - timedelta(days=6), today)
    rows = outbox_rows(db(), status=None if selected == ALL else selected)
    return render_template(
        "desk/sms.html",
        today_counts=outbox_counts(db(), today_start),
        week_counts=outbox_counts(db(), week_start),
        rows=[(row, can_retry(row)) for row in rows],
        selected=selected,
        filters=[ALL] + FILTERS,
        filter_invalid=invalid,
        statuses=[status.value for status in SmsStatus],
        **extra,
    ), status


@bp.get("/sms")
@supervisor_required
def sms_list() -> Any:
    return _page()


@bp.post("/sms/<int:message_id>/retry")
@supervisor_required
def sms_retry(message_id: int) -> Any:
    refusal = commit_or_refusal(lambda: retry_by_supervisor(db(), current_staff(), message_id))
    if refusal is not None:
        return _page(refusal.status, error=refusal.code)
    current_app.extensions["voice"].sms.deliver_later(message_id)
    notify("sms_retry_done")
    return redirect(url_for("desk.sms_list", status=request.args.get("status") or None), code=303)
