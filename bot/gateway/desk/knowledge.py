"""The policy knowledge base (政策知识库): topics, their answer versions, drafts, new topics.

Every staff member lists and searches the topics (with the version in force
today, Beijing time, what waits for review, and the last 30 days' use: how
often the answer was given and how often a hand-over followed), opens a
topic with all its versions and a preview of any version on each channel,
writes a draft (新建草稿, prefilled from the version in force) and adds a
topic (新增话题), which waits for a supervisor's 重新训练并发布. Submitting,
approving and sending back are :mod:`.knowledge_review`. Every change goes
through :mod:`bot.records.knowledge_editing`, which writes the audit rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from bot.gateway.db import db
from bot.gateway.desk import bp
from bot.gateway.desk.auth import current_staff, notify
from bot.gateway.desk.knowledge_forms import (
    DRAFT_FIELDS,
    TOPIC_FIELDS,
    FormErrors,
    draft_form,
    example_lines,
    preview,
    read_draft,
    sms_offer,
    typed,
)
from bot.knowledge.content import CATEGORIES, GRADE_NAMES
from bot.records.clock import local_day_bounds, shanghai_date
from bot.records.errors import DeskError, DeskNotFoundError, DeskValidationError
from bot.records.knowledge import (
    HANDOVER_WINDOW_MINUTES,
    TopicUsage,
    search_topics,
    usage_by_topic,
    version_in_force,
)
from bot.records.knowledge_editing import (
    EDITABLE,
    MIN_EXAMPLES,
    add_topic,
    create_draft,
    get_topic,
    get_version,
    update_draft,
)
from bot.records.knowledge_models import PolicyTopic, PolicyVersion, VersionStatus

PAGE_SIZE = 50
MAX_PAGE = 1_000
USAGE_DAYS = 30
# A hand-over after this share of answers (with enough answers to tell) marks
# the answer as one to look at: depositors still needed a person.
HIGH_HANDOVER_RATE = 0.3
HIGH_RATE_MIN_ASKED = 5


@dataclass(frozen=True)
class TopicRow:
    topic: PolicyTopic
    in_force: PolicyVersion | None
    drafts: int
    submitted: int
    usage: TopicUsage

    @property
    def handover_high(self) -> bool:
        return (self.usage.asked >= HIGH_RATE_MIN_ASKED
                and self.usage.handover_rate >= HIGH_HANDOVER_RATE)


def releases_url() -> str | None:
    """The 重新训练并发布 page, when the gateway has one."""
    if current_app.config.get("DESK_RELEASES") is False:
        return None
    try:
        return url_for("desk.releases")
    except BuildError:
        return None


def recent_usage() -> dict[str, TopicUsage]:
    today = shanghai_date()
    since, _ = local_day_bounds(today - timedelta(days=USAGE_DAYS - 1), today)
    return usage_by_topic(db(), since=since)


def _row(topic: PolicyTopic, usage: dict[str, TopicUsage]) -> TopicRow:
    states = [version.status for version in topic.versions]
    return TopicRow(
        topic=topic,
        in_force=version_in_force(db(), topic, shanghai_date()),
        drafts=sum(state in EDITABLE for state in states),
        submitted=states.count(VersionStatus.submitted),
        usage=usage.get(topic.key, TopicUsage(0, 0)),
    )


def _page_number() -> int:
    try:
        return min(max(int(request.args.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


@bp.get("/knowledge")
def knowledge_list() -> Any:
    text = (request.args.get("q") or "").strip()[:60]
    category = (request.args.get("category") or "").strip()[:20]
    waiting = request.args.get("waiting") == "1"
    invalid = bool(category) and category not in CATEGORIES
    if invalid:
        category = ""
    usage = recent_usage()
    rows = [_row(topic, usage) for topic in search_topics(db(), text, category or None)]
    if waiting:
        rows = [row for row in rows if row.submitted]
    page = _page_number()
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    query = {key: value for key, value in
             (("q", text), ("category", category), ("waiting", "1" if waiting else "")) if value}
    return render_template(
        "desk/knowledge.html",
        rows=rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
        total=len(rows), page=page, pages=pages, query=query,
        q=text, category=category, waiting=waiting, filter_invalid=invalid,
        categories=CATEGORIES, grade_names=GRADE_NAMES, usage_days=USAGE_DAYS,
        high_rate=HIGH_HANDOVER_RATE, high_min=HIGH_RATE_MIN_ASKED,
        handover_window=HANDOVER_WINDOW_MINUTES,
    )


def topic_page(topic: PolicyTopic, status: int = 200, *, shown_id: int | None = None,
               **extra: Any) -> Any:
    """The topic page; ``extra`` carries a refusal (``error``…) and what was typed."""
    in_force = version_in_force(db(), topic, shanghai_date())
    versions = sorted(topic.versions, key=lambda v: v.number, reverse=True)
    shown = next((v for v in versions if v.id == shown_id), None) or in_force or (
        versions[0] if versions else None)
    return render_template(
        "desk/knowledge_topic.html",
        topic=topic, versions=versions, in_force=in_force, shown=shown,
        figures=preview(shown) if shown is not None else None, sms_offer=sms_offer(),
        usage=recent_usage().get(topic.key, TopicUsage(0, 0)), usage_days=USAGE_DAYS,
        grade_names=GRADE_NAMES, releases_url=releases_url(),
        editable=EDITABLE, **extra,
    ), status


@bp.get("/knowledge/topic/<key>")
def knowledge_topic(key: str) -> Any:
    try:
        shown_id = int(request.args.get("v", "0")) or None
    except ValueError:
        shown_id = None
    return topic_page(get_topic(db(), key[:60]), shown_id=shown_id)


def _editor(topic: PolicyTopic, form: dict[str, str], *, version: PolicyVersion | None = None,
            errors: FormErrors | None = None, status: int = 200) -> Any:
    return render_template(
        "desk/knowledge_edit.html", topic=topic, version=version, form=form,
        errors=errors or FormErrors(), grade_names=GRADE_NAMES,
    ), status


def _save(topic: PolicyTopic, version: PolicyVersion | None) -> Any:
    """Create or change a draft from the editor's form; refused forms come back as typed."""
    form = typed(request.form, DRAFT_FIELDS)
    content, start, until, errors = read_draft(form)
    if not errors:
        try:
            if version is None:
                version = create_draft(db(), current_staff(), topic, content,
                                       effective_from=start, effective_until=until)
            else:
                update_draft(db(), current_staff(), version, content,
                             effective_from=start, effective_until=until)
        except DeskNotFoundError:
            db().rollback()
            raise
        except DeskError as exc:
            db().rollback()
            found = exc.params.get("problems")
            if found:
                errors.problems.extend(str(problem) for problem in found)
            else:
                errors.add(exc.code, **exc.params)
            return _editor(topic, form, version=version, errors=errors, status=exc.status)
    if errors:
        return _editor(topic, form, version=version, errors=errors, status=400)
    db().commit()
    notify("knowledge_draft_saved")
    assert version is not None
    return redirect(url_for("desk.knowledge_topic", key=topic.key, v=version.id), code=303)


@bp.route("/knowledge/topic/<key>/draft", methods=["GET", "POST"])
def knowledge_new_draft(key: str) -> Any:
    """新建草稿: the next version of the topic, prefilled from the version in force."""
    topic = get_topic(db(), key[:60])
    if request.method == "POST":
        return _save(topic, None)
    base = version_in_force(db(), topic, shanghai_date())
    if base is None and topic.versions:
        base = max(topic.versions, key=lambda v: v.number)
    return _editor(topic, draft_form(base, with_dates=False))


@bp.route("/knowledge/version/<int:version_id>/edit", methods=["GET", "POST"])
def knowledge_edit_draft(version_id: int) -> Any:
    version = get_version(db(), version_id)
    if version.status not in EDITABLE:
        return topic_page(version.topic, 409, shown_id=version.id,
                          error="knowledge_not_editable")
    if request.method == "POST":
        return _save(version.topic, version)
    return _editor(version.topic, draft_form(version), version=version)


@bp.route("/knowledge/new", methods=["GET", "POST"])
def knowledge_new_topic() -> Any:
    """新增话题: key, category, title, ask, scope and at least 10 example questions."""
    form = typed(request.form, TOPIC_FIELDS)
    errors = FormErrors()
    status = 200
    if request.method == "POST":
        examples = example_lines(form["examples"])
        try:
            if len(examples) < MIN_EXAMPLES:
                raise DeskValidationError("knowledge_examples_too_few", minimum=MIN_EXAMPLES,
                                          count=len(examples))
            topic = add_topic(db(), current_staff(), key=form["key"],
                              category=form["category"], title=form["title"],
                              ask=form["ask"], scope=form["scope"], examples=examples)
        except DeskError as exc:
            db().rollback()
            errors.add(exc.code, **exc.params)
            status = exc.status
        else:
            db().commit()
            notify("knowledge_topic_added")
            return redirect(url_for("desk.knowledge_topic", key=topic.key), code=303)
    return render_template(
        "desk/knowledge_new.html", form=form, errors=errors, categories=CATEGORIES,
        minimum=MIN_EXAMPLES, count=len(example_lines(form["examples"])),
        releases_url=releases_url(),
    ), status
