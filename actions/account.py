"""Look-ups of the verified depositor's own account, loan and withdrawals.

The secure step happens outside Rasa (DESIGN.md, "Secure steps"): these actions
ask for it with ``utter_request_identity`` (a ``secure_input`` custom payload),
then only ever see the session reference (slot ``auth_token``) that the gateway
or the chat client obtained, and resolve it against the records on every use,
together with the channel and the conversation it is presented from: a
reference copied into another conversation, or posted through another channel
(a web chat's reference through the REST channel), reads nothing.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import (
    RecordsAction,
    channel_of,
    latest_intent,
    format_date,
    format_money,
    format_month,
    format_rate,
)
from bot.records import accounts
from bot.records.verification import resolve_token
from bot.records.identifiers import mask_account

QUERY_BY_INTENT = {
    "query_balance": "balance",
    "query_loan": "loan",
    "query_withdrawal": "withdrawal",
}

AUTH_FAILURE_RESPONSES = {
    "mismatch": "utter_auth_mismatch",
    "locked": "utter_auth_locked",
    "invalid_identifier": "utter_auth_invalid_identifier",
    "invalid_password_format": "utter_auth_invalid_password_format",
    "closed_account": "utter_auth_closed_account",
}
# After these failures the caller may simply try again.
RETRYABLE_FAILURES = {"mismatch", "invalid_identifier", "invalid_password_format"}


def answer_balance(dispatcher: CollectingDispatcher, overview: Dict[str, Any]) -> None:
    account = mask_account(overview["account_number"])
    if overview["status"] == "sealed":
        dispatcher.utter_message(
            response="utter_balance_sealed",
            account=account,
            balance=format_money(overview["balance"]),
            paid_up_month=format_month(overview["paid_up_month"]),
        )
        return
    dispatcher.utter_message(
        response="utter_balance_normal",
        account=account,
        balance=format_money(overview["balance"]),
        monthly_deposit=format_money(overview["monthly_deposit"]),
        employee_part=format_money(overview["base"] * overview["employee_rate"]),
        employer_part=format_money(overview["base"] * overview["employer_rate"]),
        base=format_money(overview["base"]),
        employee_rate=format_rate(overview["employee_rate"]),
        employer_rate=format_rate(overview["employer_rate"]),
        paid_up_month=format_month(overview["paid_up_month"]),
    )
    if overview.get("arrears_months"):
        dispatcher.utter_message(
            response="utter_balance_arrears",
            paid_up_month=format_month(overview["paid_up_month"]),
            arrears_months=overview["arrears_months"],
        )


def answer_loan(dispatcher: CollectingDispatcher, loan: Optional[Dict[str, Any]]) -> None:
    if loan is None:
        dispatcher.utter_message(response="utter_loan_none")
        return
    if loan["status"] == "settled":
        dispatcher.utter_message(response="utter_loan_settled", loan_number=loan["loan_number"])
        return
    common = dict(
        loan_number=loan["loan_number"],
        remaining=format_money(loan["remaining_principal"]),
        monthly_payment=format_money(loan["monthly_payment"]),
        next_due_date=format_date(loan["next_due_date"]),
    )
    if loan.get("overdue_periods"):
        dispatcher.utter_message(
            response="utter_loan_overdue",
            overdue_periods=loan["overdue_periods"],
            overdue_amount=format_money(loan["overdue_amount"]),
            **common,
        )
        return
    dispatcher.utter_message(
        response="utter_loan_active",
        principal=format_money(loan["principal"]),
        rate=format_rate(loan["annual_rate"]),
        next_due_amount=format_money(loan["next_due_amount"]),
        **common,
    )


def answer_withdrawal(
    dispatcher: CollectingDispatcher, overview: Dict[str, Any], domain_responses: Any = ()
) -> None:
    applications = overview.get("applications") or []
    agreement = overview.get("entrust_agreement")
    if applications:
        latest = applications[0]
        response = f"utter_withdrawal_{latest['status']}"
        reason = latest.get("reject_reason")
        if latest["status"] == "rejected" and reason and f"{response}_{reason}" in domain_responses:
            response = f"{response}_{reason}"
        dispatcher.utter_message(
            response=response,
            application_number=latest["application_number"],
            amount=format_money(latest["amount"]),
            applied_on=format_date(latest["applied_at"]),
            paid_on=format_date(latest.get("paid_at")),
        )
    if agreement:
        dispatcher.utter_message(
            response="utter_entrust_active",
            next_transfer_date=format_date(agreement["next_transfer_date"]),
        )
    if not applications and not agreement:
        dispatcher.utter_message(response="utter_withdrawal_none")


def answer(
    dispatcher: CollectingDispatcher,
    session: Session,
    account_id: int,
    kind: str,
    domain: Dict[str, Any],
) -> None:
    if kind == "loan":
        answer_loan(dispatcher, accounts.loan_overview(session, account_id))
    elif kind == "withdrawal":
        answer_withdrawal(
            dispatcher,
            accounts.withdrawal_overview(session, account_id),
            domain.get("responses", {}),
        )
    else:
        answer_balance(dispatcher, accounts.account_overview(session, account_id))


def request_identity(dispatcher: CollectingDispatcher, kind: Optional[str]) -> List[Dict[str, Any]]:
    dispatcher.utter_message(response="utter_request_identity")
    return [SlotSet("auth_token", None), SlotSet("pending_query", kind)]


class ActionQueryAccount(RecordsAction):
    """Answers ``query_balance``, ``query_loan`` and ``query_withdrawal``."""

    def name(self) -> str:
        return "action_query_account"

    def run_with_session(self, dispatcher, tracker, domain, session):
        intent = latest_intent(tracker)
        kind = QUERY_BY_INTENT.get(intent) or tracker.get_slot("pending_query") or "balance"
        token = tracker.get_slot("auth_token")
        if not token:
            return request_identity(dispatcher, kind)
        result = resolve_token(
            session, token, channel=channel_of(tracker), conversation_id=tracker.sender_id
        )
        if result.account_id is None:
            dispatcher.utter_message(
                response="utter_auth_expired" if result.reason == "expired" else "utter_auth_invalid"
            )
            return request_identity(dispatcher, kind)
        answer(dispatcher, session, result.account_id, kind, domain)
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("pending_query", None)]


class ActionAuthenticated(RecordsAction):
    """Acts on ``/authenticated{"auth_token": …}`` sent after the secure step."""

    def name(self) -> str:
        return "action_authenticated"

    def run_with_session(self, dispatcher, tracker, domain, session):
        token = tracker.get_slot("auth_token")
        kind = tracker.get_slot("pending_query")
        result = (
            resolve_token(
                session, token, channel=channel_of(tracker), conversation_id=tracker.sender_id
            )
            if token
            else None
        )
        if result is None or result.account_id is None:
            expired = result is not None and result.reason == "expired"
            dispatcher.utter_message(response="utter_auth_expired" if expired else "utter_auth_invalid")
            return request_identity(dispatcher, kind)
        if kind:
            dispatcher.utter_message(response="utter_auth_ok")
            answer(dispatcher, session, result.account_id, kind, domain)
            dispatcher.utter_message(response="utter_anything_else")
        else:
            dispatcher.utter_message(response="utter_auth_ok_ask")
        return [SlotSet("pending_query", None)]


class ActionAuthenticationFailed(Action):
    """Explains a failed secure step and, where sensible, asks for it again."""

    def name(self) -> str:
        return "action_authentication_failed"

    def run(self, dispatcher, tracker, domain):
        reason = tracker.get_slot("auth_failure_reason")
        if reason not in AUTH_FAILURE_RESPONSES:
            reason = "mismatch"
        response = AUTH_FAILURE_RESPONSES[reason]
        dispatcher.utter_message(response=response)
        events: List[Dict[str, Any]] = [SlotSet("auth_token", None)]
        if reason in RETRYABLE_FAILURES:
            dispatcher.utter_message(response="utter_request_identity")
        return events
