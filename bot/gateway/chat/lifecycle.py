"""A verified chat's life: a new conversation once verified, no grant after it ends.

- :func:`rotate`: the secure step passed, with the auth session bound to a fresh
  conversation id. Rasa's tracker is copied to that id (so the pending question,
  or a complaint form being filled, carries over; the copied messages of the
  visitor are marked by :func:`bot.contract.carry_over`), the old id's auth sessions
  are revoked and the session names the new id: the cookie the view then sets
  owns only the new id, and the old id is refused with it (403).
- :func:`end_verification`: revoke a conversation's auth sessions, when the
  visitor ends the chat (结束对话) and when its idle-expired cookie is presented.
- :func:`account_answers_visible`: whether the history may replay the account
  answers (balance, loan, withdrawals): only while an auth session of the
  conversation is still valid. A records failure hides them (fails closed).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.contract import carry_over
from bot.gateway.chat.service import current_service
from bot.gateway.chat.state import ChatState
from bot.gateway.db import db
from bot.gateway.rasa import AssistantUnavailable
from bot.records.verification import conversation_verified, revoke_conversation

logger = logging.getLogger(__name__)


def rotate(state: ChatState, fresh: str) -> None:
    """Move a just-verified chat to ``fresh`` (the id its auth session is bound to).

    Raises :class:`AssistantUnavailable` when Rasa's tracker cannot be copied;
    the fresh id's auth session is revoked then, and ``state`` is unchanged.
    """
    rasa = current_service().rasa
    old = state.conversation_id
    try:
        rasa.replace_events(fresh, [carry_over(event) for event in rasa.events(old)])
    except AssistantUnavailable as exc:
        logger.warning("chat %s…: verified conversation not moved: %s", old[:6], exc)
        end_verification(fresh, why="not moved")
        raise
    end_verification(old, why="rotated")
    state.conversation_id = fresh
    logger.info("chat %s… verified: continues as %s…", old[:6], fresh[:6])


def end_verification(conversation_id: str, *, why: str) -> None:
    """Revoke what the conversation was granted by the secure step (if anything)."""
    try:
        revoked = revoke_conversation(db(), conversation_id)
        db().commit()
    except SQLAlchemyError as exc:
        db().rollback()
        logger.warning(
            "chat %s…: auth sessions not revoked (%s): %s",
            conversation_id[:6],
            why,
            exc.__class__.__name__,
        )
        return
    if revoked:
        logger.info("chat %s…: %d auth session(s) revoked (%s)", conversation_id[:6], revoked, why)


def account_answers_visible(conversation_id: str) -> bool:
    """Whether the conversation's auth session is still valid (neither expired nor revoked)."""
    try:
        return conversation_verified(db(), conversation_id)
    except SQLAlchemyError as exc:
        db().rollback()
        logger.warning(
            "chat %s…: verification state unknown, account answers hidden: %s",
            conversation_id[:6],
            exc.__class__.__name__,
        )
        return False
