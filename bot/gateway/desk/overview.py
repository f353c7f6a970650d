"""Service overview (服务概览) with charts, and the CSV export of complaints."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from flask import Response, current_app, render_template, request

from bot.flows import complaint_categories, rating_scale
from bot.gateway.db import db
from bot.gateway.desk import bp, charts
from bot.gateway.desk.auth import (
    current_staff,
    local_date,
    local_datetime,
    settings,
    supervisor_required,
)
from bot.gateway.desk.tracker import tracker_figures
from bot.records.audit import audit
from bot.records.base import Channel
from bot.records.clock import shanghai_date
from bot.records.complaints import MAX_EXPORT_DAYS, complaints_for_export, is_overdue
from bot.records.figures import MAX_OVERVIEW_DAYS, records_figures
from bot.records.identifiers import mask_phone
from bot.records.lockouts import failure_spike
from bot.records.service_models import ComplaintStatus
from bot.records.staff import staff_names

DEFAULT_DAYS = 14
CHANNELS = [channel.value for channel in Channel]
# Cells starting with these are formulas to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def parse_range(
    args: Any, *, default_days: int, max_days: int
) -> tuple[date, date, str | None]:
    """``start``/``end`` (YYYY-MM-DD, Beijing dates) or the last ``default_days`` days.

    Returns the range and an error code when the given one was unusable.
    """
    today = shanghai_date()
    default = (today - timedelta(days=default_days - 1), today)
    raw_start, raw_end = (args.get("start") or "").strip(), (args.get("end") or "").strip()
    if not raw_start and not raw_end:
        return default[0], default[1], None
    try:
        start = date.fromisoformat(raw_start[:10]) if raw_start else default[0]
        end = date.fromisoformat(raw_end[:10]) if raw_end else today
    except ValueError:
        return default[0], default[1], "range_invalid"
    if start > end:
        return default[0], default[1], "range_reversed"
    if (end - start).days + 1 > max_days:
        return default[0], default[1], "range_too_long"
    return start, end, None


@bp.get("/overview")
def overview() -> Any:
    start, end, range_error = parse_range(
        request.args, default_days=DEFAULT_DAYS, max_days=MAX_OVERVIEW_DAYS
    )
    records = records_figures(db(), start, end)
    tracker = tracker_figures(settings().tracker_db_url, start, end)
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    by_day = tracker.conversations_by_day if tracker.unavailable is None else (
        records.conversations_by_day
    )
    categories = complaint_categories()
    scale = rating_scale()
    return render_template(
        "desk/overview.html",
        start=start,
        end=end,
        range_error=range_error,
        max_days=MAX_OVERVIEW_DAYS,
        records=records,
        tracker=tracker,
        conversations_source="tracker" if tracker.unavailable is None else "records",
        conversations_total=sum(sum(day.values()) for day in by_day.values()),
        conversations_chart=charts.stacked_columns(days, by_day, CHANNELS),
        resolved_meter=charts.meter(tracker.resolved_share),
        fallback_meter=charts.meter(tracker.fallback_rate),
        intents_chart=charts.horizontal_bars(tracker.top_intents, label_width=170),
        category_chart=charts.horizontal_bars(
            [(c.code, records.complaints_by_category.get(c.code, 0)) for c in categories]
        ),
        status_chart=charts.horizontal_bars(
            [(s.value, records.complaints_by_status.get(s.value, 0)) for s in ComplaintStatus],
            colors=charts.STATUS_COLORS,
        ),
        rating_chart=charts.horizontal_bars(
            [(level.score, records.ratings_by_score.get(level.score, 0))
             for level in sorted(scale.levels, key=lambda item: -item.score)],
            colors=charts.RATING_COLORS,
        ),
        rating_labels={level.score: level.label for level in scale.levels},
        handover_chart=charts.horizontal_bars(
            sorted(records.handovers_by_reason.items(), key=lambda item: -item[1]),
            label_width=150,
        ),
        export_start=start,
        export_end=end,
        auth_spike=failure_spike(db(), settings()),
    )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@bp.post("/export")
@supervisor_required
def export_csv() -> Any:
    """Complaints filed in a date range as CSV (UTF-8 with BOM, for Excel); phones masked."""
    start, end, range_error = parse_range(
        request.form, default_days=DEFAULT_DAYS, max_days=MAX_EXPORT_DAYS
    )
    if not request.form.get("start") or not request.form.get("end"):
        range_error = "range_required"
    elif range_error == "range_too_long":
        range_error = "export_range_too_long"
    elif range_error:
        range_error = "export_range_invalid"
    if range_error:
        return render_template("desk/error.html", status=400, code=range_error), 400
    labels = current_app.jinja_env.get_template("desk/_labels.html").module
    categories = {c.code: c.label for c in complaint_categories()}
    today = shanghai_date()
    names = staff_names(db())
    rows = complaints_for_export(db(), start, end)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(labels.CSV_HEADERS)  # type: ignore[attr-defined]
    for complaint in rows:
        writer.writerow([_cell(value) for value in (
            complaint.ticket_id,
            local_datetime(complaint.created_at),
            labels.CHANNELS.get(complaint.channel.value, complaint.channel.value),  # type: ignore[attr-defined]
            categories.get(complaint.category.value, complaint.category.value),
            labels.STATUSES.get(complaint.status.value, complaint.status.value),  # type: ignore[attr-defined]
            names.get(complaint.owner or "", complaint.owner or ""),
            local_date(complaint.due_date),
            labels.YES if is_overdue(complaint, today) else labels.NO,  # type: ignore[attr-defined]
            complaint.description,
            complaint.location,
            complaint.staff_number,
            mask_phone(complaint.contact_phone),
            complaint.reply,
            local_datetime(complaint.updated_at),
        )])
    audit(db(), current_staff(), "complaints_exported", target_type="export",
             detail=f"{start.isoformat()}..{end.isoformat()} rows={len(rows)}")
    db().commit()
    filename = f"complaints_{start:%Y%m%d}_{end:%Y%m%d}.csv"
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
