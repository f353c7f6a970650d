"""The learning inbox (待学习): the turns the assistant missed, harvested, labelled, counted.

Harvested from the Rasa tracker store (what counts as a miss, and how the
text is cleaned, is :mod:`bot.records.misses`), one row per missed turn
(:class:`~bot.records.learning_models.MissedTurn`), listed and labelled on the
desk, counted per ISO week for supervisors, and exported as training data.

Functions take the session first and leave the transaction to the caller.
The command line: ``python -m bot.records.learning harvest [--days N]`` and
``python -m bot.records.learning export`` (:mod:`bot.nlu.training_data`
writes the file).
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.nlu import training_data
from bot.records.audit import audit
from bot.records.base import Channel
from bot.records.clock import SHANGHAI, local_day, shanghai_date, utc_now
from bot.records.errors import DeskNotFoundError, DeskValidationError
from bot.records.learning_models import IGNORE_LABEL, MissedTurn, MissKind
from bot.records.misses import clean_text, predicted, read_misses
from bot.records.staff_models import StaffUser

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 30  # the first harvest, or one with nothing harvested yet
MAX_DAYS = 92
OVERLAP = timedelta(days=1)
PAGE_SIZE = 50
FIGURE_WEEKS = 8


# ------------------------------------------------------------------ harvest


@dataclass
class HarvestResult:
    """What one harvest did, or why it could not (``unavailable``)."""

    unavailable: str | None = None  # "absent" or "unreadable"
    since: datetime | None = None
    conversations: int = 0
    found: int = 0
    added: int = 0


def harvest_since(session: Session, now: datetime, days: int | None = None) -> datetime:
    """Where a harvest starts: ``days`` back, or a day before the newest miss kept."""
    if days is not None:
        return now - timedelta(days=min(max(days, 1), MAX_DAYS))
    newest = session.scalar(select(func.max(MissedTurn.occurred_at)))
    oldest = now - timedelta(days=DEFAULT_DAYS)
    return oldest if newest is None else max(oldest, newest - OVERLAP)


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(MissedTurn).on_conflict_do_nothing(
        index_elements=["conversation_key", "event_key"]).returning(MissedTurn.id)


def harvest(
    session: Session,
    tracker_url: str,
    *,
    actor: StaffUser | None = None,
    days: int | None = None,
    now: datetime | None = None,
) -> HarvestResult:
    """Add the misses of the tracker store that are not kept yet; never raises on the store.

    Each is added once, also when two harvests run at the same time. The
    harvest is audited (``actor`` None: the command line).
    """
    moment = utc_now(now)
    since = harvest_since(session, moment, days)
    try:
        conversations, misses = read_misses(tracker_url, since)
    except FileNotFoundError:
        return HarvestResult(unavailable="absent", since=since)
    except (SQLAlchemyError, ValueError) as exc:
        logger.warning("tracker store unreadable for the harvest: %s", type(exc).__name__)
        return HarvestResult(unavailable="unreadable", since=since)
    result = HarvestResult(since=since, conversations=conversations)
    for key, miss in misses:
        text = clean_text(miss.turn.text)
        if text is None:
            continue
        result.found += 1
        label, confidence = predicted(miss.turn.parse)
        added = session.execute(_insert(session).values(
            conversation_key=key, event_key=miss.turn.event_key,
            channel=Channel(miss.turn.channel), kind=miss.kind,
            occurred_at=datetime.fromtimestamp(miss.turn.at, tz=timezone.utc),
            text=text, context=clean_text(miss.context),
            predicted_label=label, confidence=confidence, harvested_at=moment,
        )).first()
        result.added += added is not None
    audit(session, actor, "misses_harvested", target_type="missed_turn",
          detail=f"since={since:%Y-%m-%dT%H:%MZ} added={result.added}", now=moment)
    return result


# ------------------------------------------------------------ the desk's side


@dataclass(frozen=True)
class InboxFilters:
    """Which misses the inbox lists: unlabelled (default) or labelled, of one kind or all."""

    kind: MissKind | None = None
    labelled: bool = False


def list_misses(
    session: Session, filters: InboxFilters, *, page: int = 1
) -> tuple[list[MissedTurn], int]:
    """One page of misses, newest first, and how many there are in all."""
    conditions = [MissedTurn.label.is_not(None) if filters.labelled else MissedTurn.label.is_(None)]
    if filters.kind is not None:
        conditions.append(MissedTurn.kind == filters.kind)
    total = session.scalar(select(func.count(MissedTurn.id)).where(*conditions)) or 0
    rows = session.scalars(
        select(MissedTurn).where(*conditions)
        .order_by(MissedTurn.occurred_at.desc(), MissedTurn.id.desc())
        .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return list(rows), int(total)


def label_miss(
    session: Session,
    actor: StaffUser,
    miss_id: int,
    label: str,
    known_labels: Iterable[str],
    *,
    now: datetime | None = None,
) -> MissedTurn:
    """Give a miss its label (a label of ``known_labels``, or ``ignore``); audited.

    Raises ``DeskValidationError("label_invalid")`` for any other label and
    ``DeskNotFoundError("miss_not_found")`` for an unknown row.
    """
    label = (label or "").strip()
    if label != IGNORE_LABEL and label not in set(known_labels):
        raise DeskValidationError("label_invalid")
    miss = session.get(MissedTurn, miss_id)
    if miss is None:
        raise DeskNotFoundError("miss_not_found")
    moment = utc_now(now)
    previous = miss.label
    miss.label, miss.labelled_by, miss.labelled_at = label, actor.username, moment
    audit(session, actor, "miss_labelled", target_type="missed_turn", target_id=miss.id,
          detail=label if previous is None else f"{previous} -> {label}", now=moment)
    session.flush()
    return miss


@dataclass
class WeekFigures:
    """Misses of one ISO week (Beijing time) and how many of them were labelled."""

    monday: date
    misses: int = 0
    labelled: int = 0

    @property
    def iso_week(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def labelled_share(self) -> float | None:
        return self.labelled / self.misses if self.misses else None


def weekly_figures(
    session: Session, *, weeks: int = FIGURE_WEEKS, today: date | None = None
) -> list[WeekFigures]:
    """The last ``weeks`` ISO weeks, this one included, oldest first (a week with none is 0)."""
    today = today or shanghai_date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    figures = {monday: WeekFigures(monday) for monday in mondays}
    begin = datetime.combine(mondays[0], datetime.min.time(), tzinfo=SHANGHAI)
    for occurred, label in session.execute(
        select(MissedTurn.occurred_at, MissedTurn.label).where(MissedTurn.occurred_at >= begin)
    ):
        day = local_day(occurred)
        week = figures.get(day - timedelta(days=day.weekday()))
        if week is not None:
            week.misses += 1
            week.labelled += label is not None
    return list(figures.values())


def labelled_examples(session: Session) -> list[training_data.LabelledText]:
    """Every miss labelled with an NLU label (not ``ignore``), oldest first: what is exported."""
    rows = session.execute(
        select(MissedTurn.id, MissedTurn.label, MissedTurn.text)
        .where(MissedTurn.label.is_not(None), MissedTurn.label != IGNORE_LABEL)
        .order_by(MissedTurn.id)
    )
    return [training_data.LabelledText(row_id, label, text) for row_id, label, text in rows]


# ------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.records.learning",
        description="The learning inbox: harvest missed turns, export labelled examples.")
    parser.add_argument("command", choices=["harvest", "export"])
    parser.add_argument("--url", help="records database URL (default: DATABASE_URL)")
    parser.add_argument("--tracker-url", help="tracker store URL (default: TRACKER_DB_URL)")
    parser.add_argument("--days", type=int, help=f"harvest: look back N days (1-{MAX_DAYS}; "
                        "default: from a day before the newest miss kept)")
    parser.add_argument("--data", type=Path, default=training_data.NLU_DIR,
                        help="export: the NLU training data to deduplicate against")
    parser.add_argument("--out", type=Path, help="export: the file to write "
                        f"(default: <data>/{training_data.LEARNED_FILE})")
    parser.add_argument("--held-out", type=Path, action="append", default=[],
                        help="export: an evaluation set nothing may be copied from "
                        "(default: tests/nlu/heldout.yml and tests/nlu/team_set.yml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.records.db import session_scope
    from bot.settings import load_settings

    options = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    url = options.url or settings.database_url
    if options.command == "harvest":
        with session_scope(url) as session:
            result = harvest(session, options.tracker_url or settings.tracker_db_url,
                             days=options.days)
        if result.unavailable:
            print(f"tracker store {result.unavailable}: check TRACKER_DB_URL (or --tracker-url)",
                  file=sys.stderr)
            return 1
        print(f"harvested since {result.since:%Y-%m-%d %H:%M} UTC: {result.conversations} "
              f"conversations, {result.found} misses, {result.added} new")
        return 0
    with session_scope(url) as session:
        rows = labelled_examples(session)
    out = options.out or options.data / training_data.LEARNED_FILE
    try:
        report = training_data.export(rows, out, data_dir=options.data,
                                      held_out=options.held_out or training_data.HELD_OUT_SETS)
    except training_data.TrainingDataError as exc:
        print(f"nothing written: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
