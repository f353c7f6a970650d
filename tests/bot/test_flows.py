"""flows/: the shared menus load, validate, and fail with the file and the fault named."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.flows import (
    FlowsError,
    agent_hours,
    complaint_categories,
    match_complaint_category,
    match_rating,
    menus,
    rating_scale,
)


def test_shipped_flows_are_valid():
    assert [c.code for c in complaint_categories()][0] == "attitude"
    assert len(rating_scale().levels) == 5
    main = menus()["main"]
    assert main.item("0").handover and main.item("3").submenu == "policy"
    assert agent_hours().transfer_target


def test_agents_work_on_working_days_only():
    hours = agent_hours()
    assert hours.is_open(datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc))  # Fri 10:00 Beijing
    assert not hours.is_open(datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc))  # Saturday
    assert not hours.is_open(datetime(2026, 11, 27, 13, 0, tzinfo=timezone.utc))  # Fri 21:00
    assert not hours.is_open(datetime(2026, 10, 1, 2, 0, tzinfo=timezone.utc))  # National Day


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "text, fault",
    [
        ("menus: {}", "'main' menu"),
        ("menus:\n  main:\n    items:\n      - {key: '1', label: a, speech: b}", "exactly one of"),
        ("menus:\n  main:\n    items:\n      - {key: '*', label: a, speech: b, intent: greet}", "reserved"),
        ("menus:\n  main:\n    items:\n      - {key: '1', label: a, speech: b, submenu: nope}", "unknown submenu"),
        ("menus:\n  main:\n    items:\n      - {key: '0', label: a, speech: b, intent: greet}", "key 0"),
        ("menus: [", "not valid YAML"),
    ],
)
def test_broken_menu_names_file_and_fault(tmp_path, text, fault):
    flows_dir = write(tmp_path, "menu.yml", text)
    with pytest.raises(FlowsError) as error:
        menus(flows_dir)
    assert "menu.yml" in str(error.value) and fault in str(error.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FlowsError, match="agents.yml: file not found"):
        agent_hours(tmp_path)


def test_bad_agent_hours(tmp_path):
    flows_dir = write(tmp_path, "agents.yml", "agents:\n  hours:\n    - {start: '18:00', end: '09:00'}\n  transfer_target: x")
    with pytest.raises(FlowsError, match="start must be before end"):
        agent_hours(flows_dir)


def test_duplicate_category_keys(tmp_path):
    flows_dir = write(
        tmp_path, "complaint_categories.yml",
        "categories:\n  - {code: a, key: '1', label: A}\n  - {code: b, key: '1', label: B}",
    )
    with pytest.raises(FlowsError, match="duplicate key"):
        complaint_categories(flows_dir)


@pytest.mark.parametrize("said, score", [("非常不满意", 1), ("不满意", 2), ("满意", 4), ("1", 5), ("嗯", None)])
def test_rating_words(said, score):
    assert match_rating(said) == score


def test_category_keywords_pick_the_best_match():
    assert match_complaint_category("工作人员收红包还吃拿卡要").code == "misconduct"
    assert match_complaint_category("") is None
