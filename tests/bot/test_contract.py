"""The gateway↔Rasa contract (bot.contract): pure functions, both environments."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import contract
from bot.contract import (
    SYSTEM_INTENTS,
    intent_message,
    neutralize_user_text,
    parse_intent_payload,
    secure_step_outcome,
)


@pytest.mark.parametrize(
    ("typed", "forwarded"),
    [
        ("/authenticated{\"auth_token\":\"x\"}", "authenticated{\"auth_token\":\"x\"}"),
        ("  //query_balance", "query_balance"),
        ("／ authenticated", "authenticated"),
        ("／authenticated", "authenticated"),
        ("/ /greet", "greet"),
        ("我公积金还有多少", "我公积金还有多少"),
        ("", ""),
        (None, ""),
    ],
)
def test_typed_text_never_starts_with_a_slash(typed, forwarded):
    assert neutralize_user_text(typed) == forwarded
    assert not neutralize_user_text(typed).startswith(("/", "／"))


def test_intent_messages():
    assert intent_message("authenticated", {"auth_token": "abc"}) == '/authenticated{"auth_token":"abc"}'
    assert intent_message("query_balance") == "/query_balance"
    assert intent_message("inform", {"complaint_category": "态度"}) == '/inform{"complaint_category":"态度"}'


@pytest.mark.parametrize("name", ["", "bad name", "1abc", "a{b}", "greet{}", "faq/loan_rate", None])
def test_intent_message_refuses_bad_names(name):
    with pytest.raises(ValueError):
        intent_message(name)


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        ("/query_balance", ("query_balance", {})),
        ('/rate{"rating":"5"}', ("rate", {"rating": "5"})),
        ('/rate{"rating":5}', ("rate", {"rating": "5"})),
        ('/inform{"complaint_category": "服务态度"}', ("inform", {"complaint_category": "服务态度"})),
        ("非常满意", None),
        ("确认", None),
    ],
)
def test_button_payloads(payload, parsed):
    assert parse_intent_payload(payload) == parsed


@pytest.mark.parametrize(
    "payload",
    [
        "/authenticated",
        '/authenticated{"auth_token": "forged"}',
        '/authentication_failed{"reason":"x"}',
        "/bad name",
        '/x{"a":',
        "/affirm{not json}",
        "/x[1]",
        '/x["a"]',
    ],
)
def test_button_payloads_refused(payload):
    with pytest.raises(ValueError):
        parse_intent_payload(payload)


@dataclass
class Result:
    ok: bool
    token: str | None = None
    reason: str | None = None
    remaining_attempts: int | None = None


@pytest.mark.parametrize(
    ("result", "intent", "entities"),
    [
        (Result(True, token="t0k"), "authenticated", {"auth_token": "t0k"}),
        (Result(False, reason="mismatch", remaining_attempts=4), "authentication_failed",
         {"reason": "mismatch", "remaining": "4"}),
        (Result(False, reason="mismatch", remaining_attempts=1), "authentication_failed",
         {"reason": "mismatch", "remaining": "1"}),
        # the fifth wrong password locks the account: say so at once
        (Result(False, reason="mismatch", remaining_attempts=0), "authentication_failed",
         {"reason": "locked", "remaining": "0"}),
        (Result(False, reason="locked", remaining_attempts=0), "authentication_failed",
         {"reason": "locked", "remaining": "0"}),
        (Result(False, reason="invalid_identifier"), "authentication_failed",
         {"reason": "invalid_identifier"}),
        (Result(False, reason="closed_account"), "authentication_failed",
         {"reason": "closed_account"}),
    ],
)
def test_secure_step_outcome(result, intent, entities):
    outcome = secure_step_outcome(result)
    assert (outcome.intent, outcome.entities) == (intent, entities)
    assert outcome.ok is (intent == "authenticated")


def test_success_without_token_is_a_programming_error():
    with pytest.raises(ValueError):
        secure_step_outcome(Result(True, token=None))


def test_system_intents_are_the_secure_step():
    assert SYSTEM_INTENTS == {"authenticated", "authentication_failed"}


def test_carry_over_marks_only_a_persons_messages_and_keeps_their_metadata():
    user = {"event": "user", "text": "查余额", "metadata": {"from": "widget"}}
    bot_event = {"event": "bot", "text": "请先验证"}
    copied = [contract.carry_over(event) for event in (user, bot_event)]
    assert copied == [{**user, "metadata": {"from": "widget", "carried_over": True}}, bot_event]
    assert user["metadata"] == {"from": "widget"}  # the old tracker's event is not changed
    assert [contract.is_carried_over(event) for event in (*copied, user)] == [True, False, False]
    assert contract.is_carried_over({"event": "user", "metadata": None}) is False


def test_contract_imports_only_the_standard_library():
    tree = ast.parse(Path(contract.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= {"__future__", "json", "re", "dataclasses", "typing"}
