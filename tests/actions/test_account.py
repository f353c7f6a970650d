"""action_query_account, action_authenticated, action_authentication_failed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.account import ActionAuthenticated, ActionAuthenticationFailed, ActionQueryAccount
from tests.actions.conftest import DOMAIN, login, make_tracker, responses


def run(action, tracker, domain=DOMAIN):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain)
    return dispatcher, events


@pytest.mark.parametrize(
    "intent, kind", [("query_balance", "balance"), ("query_loan", "loan"), ("query_withdrawal", "withdrawal")]
)
def test_unverified_caller_is_asked_for_the_secure_step(records, intent, kind):
    dispatcher, events = run(ActionQueryAccount(), make_tracker(intent=intent, text="查一下"))
    assert responses(dispatcher) == ["utter_request_identity"]
    assert events == [SlotSet("auth_token", None), SlotSet("pending_query", kind)]


def test_balance_of_the_verified_depositor(records):
    token = login(records, "normal_loan", "conv-1")
    tracker = make_tracker(intent="query_balance", slots={"auth_token": token})
    dispatcher, events = run(ActionQueryAccount(), tracker)
    assert responses(dispatcher) == ["utter_balance_normal", "utter_anything_else"]
    answer = dispatcher.messages[0]
    assert answer["account"] == "1020****5060"
    assert answer["balance"] == "56,789.12"
    assert answer["paid_up_month"].endswith("月")
    assert events == [SlotSet("pending_query", None)]


def test_sealed_account_is_answered_as_sealed(records):
    token = login(records, "sealed", "conv-1")
    dispatcher, _ = run(ActionQueryAccount(), make_tracker(intent="query_balance", slots={"auth_token": token}))
    assert responses(dispatcher)[0] == "utter_balance_sealed"


def test_overdue_loan_states_periods_and_amount(records):
    token = login(records, "overdue_loan", "conv-1")
    dispatcher, _ = run(ActionQueryAccount(), make_tracker(intent="query_loan", slots={"auth_token": token}))
    assert responses(dispatcher)[0] == "utter_loan_overdue"
    message = dispatcher.messages[0]
    assert message["overdue_periods"] == 2
    assert message["overdue_amount"].replace(",", "").replace(".", "").isdigit()


def test_no_loan_is_said_plainly(records):
    token = login(records, "pending_withdrawal", "conv-1")
    dispatcher, _ = run(ActionQueryAccount(), make_tracker(intent="query_loan", slots={"auth_token": token}))
    assert responses(dispatcher) == ["utter_loan_none", "utter_anything_else"]


def test_withdrawal_under_review(records):
    token = login(records, "pending_withdrawal", "conv-1")
    dispatcher, _ = run(ActionQueryAccount(), make_tracker(intent="query_withdrawal", slots={"auth_token": token}))
    assert responses(dispatcher)[0] in {"utter_withdrawal_reviewing", "utter_withdrawal_submitted"}


def test_entrusted_withdrawal_date(records):
    token = login(records, "normal_loan", "conv-1")
    dispatcher, _ = run(ActionQueryAccount(), make_tracker(intent="query_withdrawal", slots={"auth_token": token}))
    assert "utter_entrust_active" in responses(dispatcher)


def test_token_of_another_conversation_is_refused(records):
    token = login(records, "normal_loan", "someone-else")
    dispatcher, events = run(
        ActionQueryAccount(), make_tracker("conv-1", intent="query_balance", slots={"auth_token": token})
    )
    assert responses(dispatcher) == ["utter_auth_invalid", "utter_request_identity"]
    assert SlotSet("auth_token", None) in events


@pytest.mark.parametrize("issued_on, presented_on", [("webchat", "rest"), ("voice", "webchat"),
                                                     ("webchat", "voice")])
def test_token_of_another_channel_is_refused(records, issued_on, presented_on):
    # A verified web chat's reference, posted into the same conversation id
    # through the REST channel (e.g. by a host inside the network), reads nothing.
    token = login(records, "normal_loan", "conv-1", channel=issued_on)
    for action, intent in ((ActionQueryAccount(), "query_balance"),
                           (ActionAuthenticated(), "authenticated")):
        dispatcher, events = run(action, make_tracker(
            "conv-1", intent=intent, channel=presented_on,
            slots={"auth_token": token, "pending_query": "balance"}))
        assert responses(dispatcher) == ["utter_auth_invalid", "utter_request_identity"]
        assert SlotSet("auth_token", None) in events
    dispatcher, _ = run(ActionQueryAccount(), make_tracker(
        "conv-1", intent="query_balance", channel=issued_on, slots={"auth_token": token}))
    assert "utter_balance_normal" in responses(dispatcher)


def test_forged_token_is_refused(records):
    dispatcher, _ = run(
        ActionQueryAccount(), make_tracker(intent="query_balance", slots={"auth_token": "forged-token"})
    )
    assert responses(dispatcher) == ["utter_auth_invalid", "utter_request_identity"]


def test_expired_token_asks_again(records, monkeypatch):
    import bot.records.verification as verification

    token = login(records, "normal_loan", "conv-1")
    real = verification.resolve_token

    def later(session, token, *, channel, conversation_id, now=None):
        from bot.records.clock import utc_now

        return real(session, token, channel=channel, conversation_id=conversation_id,
                    now=utc_now() + timedelta(minutes=16))

    monkeypatch.setattr("actions.account.resolve_token", later)
    dispatcher, _ = run(ActionQueryAccount(), make_tracker(intent="query_balance", slots={"auth_token": token}))
    assert responses(dispatcher) == ["utter_auth_expired", "utter_request_identity"]


def test_authenticated_answers_the_pending_question(records):
    token = login(records, "normal_loan", "conv-1")
    tracker = make_tracker(
        intent="authenticated", text="/authenticated", slots={"auth_token": token, "pending_query": "loan"}
    )
    dispatcher, events = run(ActionAuthenticated(), tracker)
    assert responses(dispatcher) == ["utter_auth_ok", "utter_loan_active", "utter_anything_else"]
    assert events == [SlotSet("pending_query", None)]


def test_authenticated_without_a_pending_question_asks_what_to_look_up(records):
    token = login(records, "normal_loan", "conv-1")
    dispatcher, _ = run(ActionAuthenticated(), make_tracker(intent="authenticated", slots={"auth_token": token}))
    assert responses(dispatcher) == ["utter_auth_ok_ask"]


@pytest.mark.parametrize(
    "reason, expected",
    [
        ("mismatch", ["utter_auth_mismatch", "utter_request_identity"]),
        ("invalid_identifier", ["utter_auth_invalid_identifier", "utter_request_identity"]),
        ("invalid_password_format", ["utter_auth_invalid_password_format", "utter_request_identity"]),
        ("locked", ["utter_auth_locked"]),
        ("closed_account", ["utter_auth_closed_account"]),
        ("something-odd", ["utter_auth_mismatch", "utter_request_identity"]),
    ],
)
def test_failed_secure_step_is_explained(reason, expected):
    tracker = make_tracker(intent="authentication_failed", slots={"auth_failure_reason": reason})
    dispatcher, events = run(ActionAuthenticationFailed(), tracker)
    assert responses(dispatcher) == expected
    assert events == [SlotSet("auth_token", None)]


def test_database_down_gives_an_apology_not_silence(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    from bot.records.db import dispose_engines

    dispose_engines()
    dispatcher, events = run(ActionQueryAccount(), make_tracker(intent="query_balance", slots={"auth_token": "x"}))
    assert responses(dispatcher) == ["utter_system_error"]
    assert events == []
