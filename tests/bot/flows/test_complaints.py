"""flows/complaint_categories.yml: the categories, and what a caller says mapped to one."""
from __future__ import annotations

import pytest

from bot.flows.complaints import complaint_categories, match_complaint_category
from bot.flows.loader import FlowsError


def test_shipped_categories_are_valid() -> None:
    assert [c.code for c in complaint_categories()][0] == "attitude"


def test_duplicate_category_keys(flows_file) -> None:  # type: ignore[no-untyped-def]
    flows_dir = flows_file(
        "complaint_categories.yml",
        "categories:\n  - {code: a, key: '1', label: A}\n  - {code: b, key: '1', label: B}",
    )
    with pytest.raises(FlowsError, match="duplicate key"):
        complaint_categories(flows_dir)


def test_category_keywords_pick_the_best_match() -> None:
    assert match_complaint_category("工作人员收红包还吃拿卡要").code == "misconduct"
    assert match_complaint_category("") is None
