"""Working days in mainland China, for complaint reply deadlines.

Years the ``chinese-calendar`` package covers use its official holidays and
make-up workdays (调休). Other years fall back to Saturdays and Sundays plus
the table in ``flows/calendar.yml`` (``extra_holidays``, ``extra_workdays``),
which staff extend; each fallback year is logged once as a warning. A missing
or malformed table is logged as an error and the fallback goes on with
weekends only: a deadline is never worth a crash.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

DEFAULT_CALENDAR_PATH = PROJECT_ROOT / "flows" / "calendar.yml"


def _parse_dates(raw: Any, key: str, path: Path) -> frozenset[date]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise ValueError(f"{path}: {key} must be a list of YYYY-MM-DD dates")
    parsed: set[date] = set()
    for item in raw:
        if isinstance(item, date):
            parsed.add(item)
        elif isinstance(item, str):
            try:
                parsed.add(date.fromisoformat(item.strip()))
            except ValueError as exc:
                raise ValueError(f"{path}: {key} has a bad date {item!r}") from exc
        else:
            raise ValueError(f"{path}: {key} has a bad entry {item!r}")
    return frozenset(parsed)


@dataclass
class WorkCalendar:
    """Working-day rules: chinese-calendar first, then the fallback table."""

    path: Path = DEFAULT_CALENDAR_PATH
    _holidays: frozenset[date] | None = field(default=None, init=False, repr=False)
    _workdays: frozenset[date] | None = field(default=None, init=False, repr=False)
    _warned_years: set[int] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _load_table(self) -> None:
        holidays: frozenset[date] = frozenset()
        workdays: frozenset[date] = frozenset()
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle) or {}
            if not isinstance(data, dict):
                raise ValueError(f"{self.path}: top level must be a mapping")
            holidays = _parse_dates(data.get("extra_holidays"), "extra_holidays", self.path)
            workdays = _parse_dates(data.get("extra_workdays"), "extra_workdays", self.path)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            logger.error(
                "working-day table %s unusable (%s); falling back to weekends only",
                self.path,
                exc,
            )
        self._holidays, self._workdays = holidays, workdays

    def _fallback(self, day: date) -> bool:
        with self._lock:
            if self._holidays is None:
                self._load_table()
            if day.year not in self._warned_years:
                self._warned_years.add(day.year)
                logger.warning(
                    "chinese-calendar has no data for %d; using weekends plus %s for "
                    "working days (update the package or that file)",
                    day.year,
                    self.path,
                )
        assert self._holidays is not None and self._workdays is not None
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        return day.weekday() < 5

    def is_working_day(self, day: date) -> bool:
        """True when government offices work on ``day``."""
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return self._fallback(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (``start`` itself not counted).

        ``n == 0`` returns ``start``. Filing on a Friday with ``n=5`` gives the
        Friday after, or later when holidays intervene.
        """
        if n < 0:
            raise ValueError("add_working_days counts forward only; n must be >= 0")
        day = start
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day


_default = WorkCalendar()


def default_calendar() -> WorkCalendar:
    """The calendar backed by ``flows/calendar.yml`` of this checkout."""
    return _default


def is_working_day(day: date) -> bool:
    """True when ``day`` is a working day (see :class:`WorkCalendar`)."""
    return _default.is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    """``n`` working days after ``start``; the complaint deadline is ``n=5``."""
    return _default.add_working_days(start, n)

