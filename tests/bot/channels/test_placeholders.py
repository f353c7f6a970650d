"""The empty-slot rule (bot.channels.placeholders) on every response of domain/responses.yml.

Every variant of every response that fills a placeholder is refused when any
one of its values is missing, None, empty or renders like "None"; and passes
when all are given. The NLG class itself (Rasa's environment) is checked
against the same responses in test_nlg.py.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.channels.placeholders import empty_placeholders, is_empty, placeholders

ROOT = Path(__file__).resolve().parents[3]
RESPONSES = yaml.safe_load((ROOT / "domain" / "responses.yml").read_text(encoding="utf-8"))[
    "responses"]

VARIANTS = [
    (name, index, variant)
    for name, variants in RESPONSES.items()
    for index, variant in enumerate(variants)
    if placeholders(variant)
]
EMPTY_VALUES = {"missing": ..., "None": None, "empty": "", "blank": "  ", "text None": "None",
                "text null": "null", "empty list": []}


def _values(variant: dict[str, Any], left_out: str, empty: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: "值" for name in placeholders(variant)}
    if empty is ...:
        del values[left_out]
    else:
        values[left_out] = empty
    return values


def test_the_domain_has_responses_that_fill_slots() -> None:
    names = {name for name, _, _ in VARIANTS}
    assert {"utter_ask_complaint_confirmation", "utter_complaint_recorded",
            "utter_balance_normal", "utter_auth_mismatch"} <= names
    # custom payloads are filled too: the ticket of the recorded complaint
    assert "ticket_id" in placeholders(RESPONSES["utter_complaint_recorded"][0])


@pytest.mark.parametrize(("name", "index", "variant"), VARIANTS,
                         ids=[f"{name}[{index}]" for name, index, _ in VARIANTS])
def test_every_placeholder_of_every_response_is_refused_empty(name: str, index: int,
                                                              variant: dict[str, Any]) -> None:
    names = placeholders(variant)
    assert empty_placeholders(variant, {n: "值" for n in names}) == []
    for left_out in names:
        for label, empty in EMPTY_VALUES.items():
            values = _values(variant, left_out, empty)
            assert empty_placeholders(variant, values) == [left_out], (left_out, label)


@pytest.mark.parametrize("value", [0, "0", False, "无", "不知道", "12,345.67"])
def test_real_values_are_not_empty(value: Any) -> None:
    assert not is_empty(value)
