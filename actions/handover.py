"""Hand-over to a person: recorded with why and the context, then announced."""
from __future__ import annotations

import logging
from typing import Text

from rasa_sdk.events import ActiveLoop, SlotSet

from actions.common import RecordsAction, channel_of, intent_path
from bot.records import accounts, handovers
from bot.records.verification import resolve_token

logger = logging.getLogger(__name__)


def handover_reason(tracker) -> str:
    """Why the caller goes to a person: asked for one, or the assistant failed twice."""
    path = intent_path(tracker, limit=3)
    if path and path[-1] == "human_agent":
        return "requested"
    if tracker.get_slot("auth_failure_reason") == "locked":
        return "auth_locked"
    if path.count("nlu_fallback") >= 1:
        return "not_understood"
    return "requested"


class ActionHandover(RecordsAction):
    """Records the hand-over (reason, intent path, masked account) and announces it.

    Runs in any state; it ends whatever form was active, because a person takes
    over from here. If the record cannot be written the caller is still handed
    over: losing the context is better than keeping the caller waiting.
    """

    def name(self) -> Text:
        return "action_handover"

    def run_with_session(self, dispatcher, tracker, domain, session):
        masked = None
        token = tracker.get_slot("auth_token")
        if token:
            result = resolve_token(
                session, token, channel=channel_of(tracker), conversation_id=tracker.sender_id
            )
            if result.account_id is not None:
                masked = accounts.account_overview(session, result.account_id)["masked_account"]
        handover = handovers.record_handover(
            session,
            conversation_id=tracker.sender_id,
            channel=channel_of(tracker),
            reason=handover_reason(tracker),
            intent_path=" > ".join(intent_path(tracker)),
            masked_account=masked,
            context={
                "last_user_text": (tracker.latest_message or {}).get("text", "")[:500],
                "active_form": (tracker.active_loop or {}).get("name"),
            },
        )
        dispatcher.utter_message(response="utter_handover", handover_id=handover.id)
        return [ActiveLoop(None), SlotSet("requested_slot", None)]

    def on_failure(self, dispatcher, tracker):
        dispatcher.utter_message(response="utter_handover")
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
