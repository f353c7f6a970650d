"""The learning inbox (待学习): turns the assistant missed, for staff to label.

Agents and supervisors list the unlabelled misses (newest first, by kind),
pull new ones from the tracker store (拉取新记录) and give each a label of the
training data or 忽略; supervisors also see misses per ISO week and the share
labelled. The records side is :mod:`bot.records.learning`; the labels come
from the training data files (:func:`bot.nlu.training_data.known_labels`).
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from bot.gateway.db import commit_or_refusal, db
from bot.gateway.desk import bp, charts
from bot.gateway.desk.auth import current_staff, notify, settings
from bot.nlu.training_data import known_labels
from bot.records.learning import (
    PAGE_SIZE,
    InboxFilters,
    harvest,
    label_miss,
    list_misses,
    weekly_figures,
)
from bot.records.learning_models import IGNORE_LABEL, MissKind

STATES = ("open", "labelled")
MAX_PAGE = 10_000


def _query() -> tuple[InboxFilters, dict[str, str], int, bool]:
    """Filters, the query to keep in links, the page, and whether a filter was dropped."""
    raw_kind = (request.args.get("kind") or "").strip()[:20]
    raw_state = (request.args.get("state") or "open").strip()[:20]
    invalid = False
    kind = None
    if raw_kind:
        try:
            kind = MissKind(raw_kind)
        except ValueError:
            invalid, raw_kind = True, ""
    if raw_state not in STATES:
        invalid, raw_state = True, "open"
    try:
        page = min(max(int(request.args.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        page = 1
    query = {key: value for key, value in (("kind", raw_kind), ("state", raw_state)) if value}
    return InboxFilters(kind=kind, labelled=raw_state == "labelled"), query, page, invalid


def _label_groups(labels: list[str]) -> list[tuple[str, list[str]]]:
    """The labels for the select: intents first, then each retrieval intent's topics."""
    groups: dict[str, list[str]] = {"": []}
    for label in labels:
        groups.setdefault(label.split("/", 1)[0] if "/" in label else "", []).append(label)
    return list(groups.items())


def _inbox(status: int = 200, **extra: Any) -> Any:
    filters, query, page, invalid = _query()
    rows, total = list_misses(db(), filters, page=page)
    weeks = weekly_figures(db()) if current_staff().is_supervisor else []
    return render_template(
        "desk/learning.html",
        rows=rows,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        query=query,
        label_args={**query, **({"page": str(page)} if page > 1 else {})},
        state=query.get("state", "open"),
        kind=query.get("kind", ""),
        kinds=[kind.value for kind in MissKind],
        filter_invalid=invalid,
        label_groups=_label_groups(known_labels()),
        ignore=IGNORE_LABEL,
        weeks=weeks,
        weeks_chart=charts.horizontal_bars([(week.iso_week, week.misses) for week in weeks],
                                           label_width=90),
        week_meters={week.iso_week: charts.meter(week.labelled_share) for week in weeks},
        **extra,
    ), status


@bp.get("/learning")
def learning_inbox() -> Any:
    return _inbox()


@bp.post("/learning/harvest")
def learning_harvest() -> Any:
    """Pull the misses the tracker store has that the inbox does not (agents and supervisors)."""
    result = harvest(db(), settings().tracker_db_url, actor=current_staff())
    if result.unavailable:
        db().rollback()
        notify(f"learning_tracker_{result.unavailable}", "error")
    else:
        db().commit()
        notify("learning_harvested", added=result.added)
    return redirect(url_for("desk.learning_inbox"), code=303)


@bp.post("/learning/<int:miss_id>/label")
def learning_label(miss_id: int) -> Any:
    label = (request.form.get("label") or "")[:80]
    refusal = commit_or_refusal(
        lambda: label_miss(db(), current_staff(), miss_id, label, known_labels()))
    if refusal is not None:
        return _inbox(refusal.status, error=refusal.code, error_id=miss_id)
    notify("learning_labelled")
    kept = {key: request.args[key] for key in ("kind", "state", "page") if request.args.get(key)}
    return redirect(url_for("desk.learning_inbox", **kept), code=303)
