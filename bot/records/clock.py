"""Time helpers: UTC is stored, Asia/Shanghai is what people live in."""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone

from bot.records.errors import RecordsValidationError

# China has kept UTC+8 without daylight saving since 1991; a fixed offset
# avoids depending on the system's tz database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` (or the current time) as an aware UTC datetime; naive is refused."""
    if now is None:
        return datetime.now(timezone.utc)
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise RecordsValidationError("now must be a timezone-aware datetime")
    return now.astimezone(timezone.utc)


def shanghai_date(moment: datetime | None = None) -> date:
    """The calendar date in Chengdu at ``moment`` (default: now)."""
    return utc_now(moment).astimezone(SHANGHAI).date()


def local_day(moment: datetime) -> date:
    """The calendar date in Chengdu of an aware ``moment``."""
    return moment.astimezone(SHANGHAI).date()


def local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants of 00:00 Beijing time on ``start`` and on the day after ``end``."""
    begin = datetime.combine(start, time(0), tzinfo=SHANGHAI)
    finish = datetime.combine(end + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    return utc_now(begin), utc_now(finish)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the day of month is clamped (31 Jan + 1 → 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start``'s month to ``end``'s month."""
    return (end.year - start.year) * 12 + (end.month - start.month)
