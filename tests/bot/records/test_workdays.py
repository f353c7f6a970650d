from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

import chinese_calendar
import pytest
import yaml

from bot.records.workdays import (
    DEFAULT_CALENDAR_PATH,
    WorkCalendar,
    add_working_days,
    is_working_day,
)

FALLBACK_LOGGER = "bot.records.workdays"


@pytest.mark.parametrize(
    "day, working",
    [
        (date(2026, 1, 4), True),  # Sunday, make-up workday for New Year
        (date(2026, 2, 14), True),  # Saturday, make-up workday for Spring Festival
        (date(2026, 2, 28), True),  # Saturday, make-up workday for Spring Festival
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 9, 20), True),  # Sunday, make-up workday for National Day
        (date(2026, 10, 10), True),  # Saturday, make-up workday for National Day
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # National Day holiday week
        (date(2026, 11, 27), True),  # an ordinary Friday
        (date(2026, 11, 28), False),  # an ordinary Saturday
    ],
)
def test_is_working_day_2026_official(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    "start, expected",
    [
        (date(2026, 11, 23), date(2026, 11, 30)),  # Monday → next Monday
        (date(2026, 11, 27), date(2026, 12, 4)),  # Friday → next Friday
        (date(2026, 11, 28), date(2026, 12, 4)),  # filed on a Saturday
        # Spring Festival 2026: Sat 14 Feb is a make-up workday, 15–23 Feb off.
        (date(2026, 2, 12), date(2026, 2, 26)),
        # National Day 2026: 1–7 Oct off.
        (date(2026, 9, 25), date(2026, 10, 9)),
        # Across the year end into the fallback table: 1 Jan 2027 is a holiday there.
        (date(2026, 12, 29), date(2027, 1, 6)),
    ],
)
def test_complaint_deadline(start: date, expected: date) -> None:
    assert add_working_days(start, 5) == expected


def test_add_working_days_counts_make_up_saturday() -> None:
    # Friday 13 Feb 2026 + 1 working day is Saturday 14 Feb (调休 上班).
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)


def test_add_zero_and_negative() -> None:
    assert add_working_days(date(2026, 10, 1), 0) == date(2026, 10, 1)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 10, 1), -1)


def test_package_really_lacks_2027() -> None:
    # If this fails, chinese-calendar was upgraded: the fallback tests below
    # then need a later year, and flows/calendar.yml's 2027 lines can go.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 3, 1))


def test_fallback_2027_uses_table_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=FALLBACK_LOGGER):
        assert calendar.is_working_day(date(2027, 1, 1)) is False  # table holiday (Friday)
        assert calendar.is_working_day(date(2027, 1, 2)) is False  # Saturday
        assert calendar.is_working_day(date(2027, 1, 4)) is True  # Monday
        assert calendar.is_working_day(date(2027, 10, 4)) is False  # substitute day
        # Spring Festival 2027 falls on 5–10 Feb in the table.
        assert calendar.add_working_days(date(2027, 2, 3), 5) == date(2027, 2, 16)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_fallback_far_future_weekends_only(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=FALLBACK_LOGGER):
        assert calendar.add_working_days(date(2031, 1, 3), 5) == date(2031, 1, 10)
        assert calendar.add_working_days(date(2032, 1, 2), 1) == date(2032, 1, 5)
    years = sorted(
        re.search(r"\d{4}", r.getMessage()).group(0)  # type: ignore[union-attr]
        for r in caplog.records
        if r.levelno == logging.WARNING
    )
    assert years == ["2031", "2032"]


def test_missing_table_falls_back_to_weekends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calendar = WorkCalendar(path=tmp_path / "absent.yml")
    with caplog.at_level(logging.WARNING, logger=FALLBACK_LOGGER):
        assert calendar.is_working_day(date(2027, 1, 1)) is True  # no table: a plain Friday
        assert calendar.is_working_day(date(2027, 1, 2)) is False
    assert any(
        r.levelno == logging.ERROR and "absent.yml" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    "content",
    [
        "extra_holidays: 2027-01-01\n",  # not a list
        "extra_holidays: [not-a-date]\n",
        "extra_holidays: [\n",  # broken YAML
        "- just a list\n",
    ],
)
def test_malformed_table_never_crashes(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "calendar.yml"
    path.write_text(content, encoding="utf-8")
    calendar = WorkCalendar(path=path)
    with caplog.at_level(logging.WARNING, logger=FALLBACK_LOGGER):
        assert calendar.add_working_days(date(2027, 3, 5), 5) == date(2027, 3, 12)
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_extra_workdays_override_weekends(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yml"
    path.write_text(
        "extra_holidays:\n  - 2028-03-06  # test holiday (Monday)\n"
        "extra_workdays:\n  - '2028-03-04'  # test make-up Saturday, quoted\n",
        encoding="utf-8",
    )
    calendar = WorkCalendar(path=path)
    assert calendar.is_working_day(date(2028, 3, 4)) is True
    assert calendar.is_working_day(date(2028, 3, 6)) is False
    assert calendar.add_working_days(date(2028, 3, 3), 2) == date(2028, 3, 7)


def test_table_entries_apply_only_where_the_package_has_no_data() -> None:
    path = DEFAULT_CALENDAR_PATH
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = list(data["extra_holidays"] or []) + list(data["extra_workdays"] or [])
    assert entries, "flows/calendar.yml should list the provisional 2027 holidays"
    for day in entries:
        assert isinstance(day, date), f"{day!r} in {path} is not a YYYY-MM-DD date"
        with pytest.raises(NotImplementedError):
            chinese_calendar.is_workday(day)


def test_every_table_entry_carries_a_comment() -> None:
    lines = DEFAULT_CALENDAR_PATH.read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if re.match(r"^\s*-\s*'?\d{4}-\d{2}-\d{2}", line)]
    assert entries
    for line in entries:
        assert "#" in line and line.split("#", 1)[1].strip(), f"no source comment: {line!r}"
