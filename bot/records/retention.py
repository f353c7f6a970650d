"""The retention job: delete or mask personal data older than its period in ``retention.yml``.

    .venv/app/bin/python -m bot.records.retention [--dry-run]

Run it once a day (cron, a Kubernetes CronJob). It prints, per rule, the
table and how many rows it deleted or masked (with ``--dry-run``: would
delete or mask, and changes nothing). What each rule does is
:mod:`bot.records.retention_tables`; the periods are ``retention.yml`` at the
project root, checked before anything is touched (:func:`load_policy`).

Work is done in batches of ``batch_size`` rows, each batch its own
transaction, so no lock is held for long and a stopped run loses at most one
batch; every rule skips what it already did, so running again (or twice a
day) changes nothing more. Rasa's tracker store is reached through
``TRACKER_DB_URL`` (or ``--tracker-db-url``): unlike the desk, which only
reads it, this job needs a database role that may ``DELETE`` from
``events``. No personal data is printed or logged, only counts.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import create_engine, delete, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.records.clock import utc_now
from bot.records.db import get_sessionmaker, normalize_url
from bot.records.retention_tables import PERIOD_NAMES, RULES, TRACKER_EVENTS, Rule
from bot.settings import PROJECT_ROOT, Settings, load_settings
from bot.tracker_store import events, sqlite_path

logger = logging.getLogger(__name__)

POLICY_FILE = PROJECT_ROOT / "retention.yml"
MAX_BATCH = 10_000
# These periods must outlast the lock-out window, or deleting would unlock accounts
# (or, for the sources, lift a throttle early).
COVER_LOCKOUT_WINDOW = ("auth_failures", "auth_source_events", "auth_sessions")


class PolicyError(ValueError):
    """``retention.yml`` is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Policy:
    """The periods (days by rule name) and the batch size of ``retention.yml``."""

    periods: dict[str, int]
    batch_size: int = 500

    def cutoff(self, name: str, now: datetime) -> datetime:
        """Rows older than this (UTC) are due for rule ``name``."""
        return now - timedelta(days=self.periods[name])


@dataclass(frozen=True)
class Outcome:
    """What one rule did to one table (or, in a dry run, would do)."""

    rule: str
    table: str
    action: str
    rows: int
    cutoff: datetime | None  # None: the table was not there to look at
    error: str | None = None  # the rule failed (rows it committed before stay done)

    def line(self, dry_run: bool) -> str:
        if self.error is not None:
            return f"{self.rule:26} {self.table:22} FAILED: {self.error}"
        if self.cutoff is None:
            return f"{self.rule:26} {self.table:22} skipped: no tracker store at this URL"
        verb = f"would be {self.action}" if dry_run else f"{self.action}:"
        return (f"{self.rule:26} {self.table:22} {verb:17}{self.rows:>8}"
                f"   (older than {self.cutoff:%Y-%m-%d %H:%M} UTC)")


# ------------------------------------------------------------------ the policy


def load_policy(path: Path = POLICY_FILE, settings: Settings | None = None) -> Policy:
    """Read and check ``retention.yml``: every period known, present and a whole number of days."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot be read: {exc}") from exc
    periods = data.get("periods") if isinstance(data, dict) else None
    if not isinstance(periods, dict):
        raise PolicyError(f"{path}: needs a 'periods:' mapping of rule names to days")
    unknown = sorted(set(periods) - set(PERIOD_NAMES))
    missing = [name for name in PERIOD_NAMES if name not in periods]
    if unknown or missing:
        raise PolicyError(f"{path}: unknown periods {unknown}, missing periods {missing}"
                          f" (the rules are {', '.join(PERIOD_NAMES)})")
    for name, days in periods.items():
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise PolicyError(f"{path}: periods.{name} must be a whole number of days (1 or "
                              f"more), got {days!r}")
    settings = settings or load_settings()
    window_hours = max(settings.auth_failure_window_hours, settings.auth_source_window_hours)
    for name in COVER_LOCKOUT_WINDOW:
        if periods[name] * 24 < window_hours:
            raise PolicyError(f"{path}: periods.{name} ({periods[name]} days) is shorter than "
                              f"the lock-out and throttle windows ({window_hours} h, "
                              "AUTH_FAILURE_WINDOW_HOURS / AUTH_SOURCE_WINDOW_HOURS): deleting "
                              "would lift lock-outs early")
    batch = data.get("batch_size", Policy.batch_size)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise PolicyError(f"{path}: batch_size must be 1-{MAX_BATCH}, got {batch!r}")
    return Policy(periods=dict(periods), batch_size=batch)


# ------------------------------------------------------------------- records


def _count(factory: sessionmaker[Session], rule: Rule, cutoff: datetime) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(rule.model)
                              .where(rule.due(cutoff))) or 0


def _delete_batches(factory: sessionmaker[Session], rule: Rule, cutoff: datetime,
                    batch: int) -> int:
    ids = select(rule.model.id).where(rule.due(cutoff)).order_by(rule.model.id).limit(batch)
    total = 0
    while True:
        with factory.begin() as session:
            deleted = session.execute(
                delete(rule.model).where(rule.model.id.in_(ids)),
                execution_options={"synchronize_session": False},
            ).rowcount
        total += deleted
        if deleted < batch:
            return total


def _mask_batches(factory: sessionmaker[Session], rule: Rule, cutoff: datetime, batch: int,
                  now: datetime) -> int:
    assert rule.mask is not None
    total, after = 0, 0
    while True:
        with factory.begin() as session:
            rows = list(session.scalars(
                select(rule.model).where(rule.due(cutoff), rule.model.id > after)
                .order_by(rule.model.id).limit(batch)
            ))
            for row in rows:
                rule.mask(session, row, now)
        total += len(rows)
        if len(rows) < batch:
            return total
        after = rows[-1].id


def apply_rule(factory: sessionmaker[Session], rule: Rule, policy: Policy, *, now: datetime,
               dry_run: bool) -> Outcome:
    """Run one rule of the records database (batched; a dry run only counts)."""
    cutoff = policy.cutoff(rule.name, now)
    if dry_run:
        rows = _count(factory, rule, cutoff)
    elif rule.mask is None:
        rows = _delete_batches(factory, rule, cutoff, policy.batch_size)
    else:
        rows = _mask_batches(factory, rule, cutoff, policy.batch_size, now)
    return Outcome(rule.name, rule.table, rule.action, rows, cutoff)


# ------------------------------------------------------------ tracker store


def tracker_engine(url: str) -> Engine | None:
    """A writable engine for Rasa's tracker store, or None when it has no ``events`` yet.

    A SQLite file that does not exist is not created (Rasa creates it).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None or not path.is_file():
            return None
        engine = create_engine(f"sqlite:///{path}", hide_parameters=True,
                               connect_args={"timeout": 10})
    else:
        engine = create_engine(parsed, hide_parameters=True, pool_pre_ping=True,
                               connect_args={"connect_timeout": 5})
    if not inspect(engine).has_table("events"):
        engine.dispose()
        return None
    return engine


def purge_tracker(url: str, policy: Policy, *, now: datetime, dry_run: bool) -> Outcome:
    """Delete the tracker store's events older than ``tracker_events`` days, batch by batch."""
    cutoff = policy.cutoff(TRACKER_EVENTS, now)
    engine = tracker_engine(url)
    if engine is None:
        return Outcome(TRACKER_EVENTS, "events", "deleted", 0, None)
    old = events.c.timestamp < cutoff.timestamp()
    try:
        if dry_run:
            with engine.connect() as connection:
                rows = connection.scalar(select(func.count()).select_from(events).where(old)) or 0
            return Outcome(TRACKER_EVENTS, "events", "deleted", rows, cutoff)
        ids = select(events.c.id).where(old).order_by(events.c.id).limit(policy.batch_size)
        rows = 0
        while True:
            with engine.begin() as connection:
                deleted = connection.execute(delete(events).where(events.c.id.in_(ids))).rowcount
            rows += deleted
            if deleted < policy.batch_size:
                return Outcome(TRACKER_EVENTS, "events", "deleted", rows, cutoff)
    finally:
        engine.dispose()


# --------------------------------------------------------------------- the job


def _guarded(rule: str, table: str, action: str, setting: str,
             step: Callable[[], Outcome]) -> Outcome:
    """Run one rule; a database failure is reported (SQL only, never values) and the job goes on."""
    try:
        return step()
    except SQLAlchemyError as exc:
        logger.error("retention rule %s on %s failed", rule, table, exc_info=True)
        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return Outcome(rule, table, action, 0, None,
                       error=f"{type(exc).__name__}: {cause} (check {setting})")


def run(database_url: str, tracker_db_url: str, policy: Policy, *,
        now: datetime | None = None, dry_run: bool = False) -> Iterator[Outcome]:
    """Every rule, the tracker store first; yields each outcome as it is done.

    A rule that fails (the database refuses or is away) yields an outcome with
    ``error`` set, and the other rules still run.
    """
    now = utc_now(now)
    yield _guarded(TRACKER_EVENTS, "events", "deleted",
                   "TRACKER_DB_URL or --tracker-db-url: a role that may DELETE from events",
                   lambda: purge_tracker(tracker_db_url, policy, now=now, dry_run=dry_run))
    factory = get_sessionmaker(database_url)
    for rule in RULES:
        yield _guarded(rule.name, rule.table, rule.action, "DATABASE_URL or --database-url",
                       lambda rule=rule: apply_rule(factory, rule, policy, now=now,
                                                    dry_run=dry_run))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.records.retention",
        description="Delete or mask personal data older than its period in retention.yml "
                    "(run daily).")
    parser.add_argument("--dry-run", action="store_true",
                        help="count what would be deleted or masked; change nothing")
    parser.add_argument("--policy", type=Path, default=POLICY_FILE,
                        help=f"the periods (default: {POLICY_FILE.name} at the project root)")
    parser.add_argument("--database-url", help="records database URL (default: DATABASE_URL)")
    parser.add_argument("--tracker-db-url",
                        help="tracker store URL, a role that may DELETE (default: TRACKER_DB_URL)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    try:
        policy = load_policy(options.policy, settings)
    except PolicyError as exc:
        print(f"nothing done: {exc}", file=sys.stderr)
        return 2
    print(("dry run: nothing is changed\n" if options.dry_run else "")
          + f"retention periods from {options.policy}")
    total, failed = 0, 0
    for outcome in run(options.database_url or settings.database_url,
                       options.tracker_db_url or settings.tracker_db_url, policy,
                       dry_run=options.dry_run):
        print(outcome.line(options.dry_run))
        total += outcome.rows
        failed += outcome.error is not None
    logger.info("retention %s: %d rows, %d rules failed",
                "dry run" if options.dry_run else "run", total, failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
