"""Reads and writes of the phone-line tables (bot/records/voice_models.py).

Session-first functions; the caller owns the transaction. The webhook keeps
its transactions short: load the state, commit; talk to Rasa with no
transaction open (the action server writes to the same database); save the
state and the turn's answer, commit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.gateway.voice.readout import Part, Pause
from bot.records.account_models import AuthSession
from bot.records.base import Channel
from bot.records.voice_models import (
    CallOutcome,
    TurnStatus,
    VoiceCall,
    VoiceCallState,
    VoiceTurn,
)

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=12)
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}


def parts_to_json(parts: list[Part]) -> list[Any]:
    return [part if isinstance(part, str) else {"pause": part.ms} for part in parts]


def parts_from_json(raw: Any) -> list[Part]:
    parts: list[Part] = []
    for item in raw or []:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict) and isinstance(item.get("pause"), int):
            parts.append(Pause(item["pause"]))
    return parts


@dataclass
class CallState:
    """A live call as the gateway sees it between two webhooks."""

    call_sid: str
    from_number: str | None = None
    turn: int = 0
    mode: str = "menu"
    menu: str | None = "main"
    buttons: list[dict[str, str]] = field(default_factory=list)
    speech: list[Part] = field(default_factory=list)      # last prompt, for "repeat"
    reprompt: list[Part] = field(default_factory=list)    # short form, after silence or a miss
    no_input: int = 0
    no_match: int = 0
    sealed_identifier: str | None = None
    secure_retries: int = 0
    secure_failures: int = 0
    masked_account: str | None = None
    intents: list[str] = field(default_factory=list)
    # The policy answer being offered (bot.gateway.voice.policy): topic, version,
    # materials, the first item said last, number retries (column policy_offer).
    policy: dict[str, Any] = field(default_factory=dict)
    turns: int = 0
    answered: bool = False
    transferred: bool = False
    callback_requested: bool = False
    ended_by_assistant: bool = False
    is_new: bool = False


def start_call(session: Session, call_sid: str, *, from_number: str | None,
               to_number: str | None, now: datetime) -> CallState:
    """Record a new call (or find the one a retried webhook already recorded)."""
    existing = load_state(session, call_sid)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            session.add(VoiceCall(
                call_sid=call_sid, from_number=from_number, to_number=to_number,
                started_at=now, turns=0, answered=False, transferred=False,
                callback_requested=False, ended_by_assistant=False,
            ))
            session.add(VoiceCallState(
                call_sid=call_sid, turn=0, mode="menu", menu="main", buttons=[],
                last_speech={}, no_input=0, no_match=0, secure_retries=0,
                secure_failures=0, intents=[], updated_at=now,
            ))
            session.flush()
    except IntegrityError:
        state = load_state(session, call_sid)
        if state is None:
            raise
        return state
    state = load_state(session, call_sid)
    assert state is not None
    state.is_new = True
    return state


def load_state(session: Session, call_sid: str) -> CallState | None:
    """The live call, or None when the gateway has never seen this CallSid (or it ended)."""
    row = session.execute(
        select(VoiceCall, VoiceCallState)
        .join(VoiceCallState, VoiceCallState.call_sid == VoiceCall.call_sid)
        .where(VoiceCall.call_sid == call_sid)
    ).first()
    if row is None:
        return None
    call, state = row
    speech = state.last_speech if isinstance(state.last_speech, dict) else {}
    return CallState(
        call_sid=call_sid,
        from_number=call.from_number,
        turn=state.turn,
        mode=state.mode,
        menu=state.menu,
        buttons=list(state.buttons or []),
        speech=parts_from_json(speech.get("full")),
        reprompt=parts_from_json(speech.get("short")),
        no_input=state.no_input,
        no_match=state.no_match,
        sealed_identifier=state.sealed_identifier,
        secure_retries=state.secure_retries,
        secure_failures=state.secure_failures,
        masked_account=state.masked_account,
        intents=list(state.intents or []),
        policy=dict(state.policy_offer) if isinstance(state.policy_offer, dict) else {},
        turns=call.turns,
        answered=call.answered,
        transferred=call.transferred,
        callback_requested=call.callback_requested,
        ended_by_assistant=call.ended_by_assistant,
    )


def save_state(session: Session, state: CallState, *, now: datetime) -> None:
    session.execute(
        update(VoiceCallState).where(VoiceCallState.call_sid == state.call_sid).values(
            turn=state.turn,
            mode=state.mode,
            menu=state.menu,
            buttons=state.buttons,
            last_speech={"full": parts_to_json(state.speech),
                         "short": parts_to_json(state.reprompt)},
            policy_offer=state.policy or None,
            no_input=state.no_input,
            no_match=state.no_match,
            sealed_identifier=state.sealed_identifier,
            secure_retries=state.secure_retries,
            secure_failures=state.secure_failures,
            masked_account=state.masked_account,
            intents=state.intents[-20:],
            updated_at=now,
        )
    )
    session.execute(
        update(VoiceCall).where(VoiceCall.call_sid == state.call_sid).values(
            turns=state.turns,
            answered=state.answered,
            transferred=state.transferred,
            callback_requested=state.callback_requested,
            ended_by_assistant=state.ended_by_assistant,
        )
    )


# ------------------------------------------------------------------ turns


def find_turn(session: Session, call_sid: str, key: str) -> VoiceTurn | None:
    return session.scalar(
        select(VoiceTurn).where(VoiceTurn.call_sid == call_sid, VoiceTurn.turn_key == key)
    )


def claim_turn(session: Session, call_sid: str, key: str, *, now: datetime) -> bool:
    """Mark a turn as being handled; False if another request already has it."""
    try:
        with session.begin_nested():
            session.add(VoiceTurn(call_sid=call_sid, turn_key=key,
                                  status=TurnStatus.processing, created_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def finish_turn(session: Session, call_sid: str, key: str, twiml: str, *, now: datetime) -> None:
    session.execute(
        update(VoiceTurn)
        .where(VoiceTurn.call_sid == call_sid, VoiceTurn.turn_key == key)
        .values(status=TurnStatus.done, twiml=twiml, finished_at=now)
    )


# -------------------------------------------------------------- end of call


def outcome_of(state: VoiceCall) -> CallOutcome:
    """Transferred, callback, resolved (the assistant said goodbye, or the caller
    hung up after an answer) or abandoned."""
    if state.transferred:
        return CallOutcome.transferred
    if state.callback_requested:
        return CallOutcome.callback
    if state.ended_by_assistant or state.answered:
        return CallOutcome.resolved
    return CallOutcome.abandoned


def end_call(session: Session, call_sid: str, *, status: str, duration: int | None,
             now: datetime) -> CallOutcome | None:
    """Record the end of a call and forget its working data; None if unknown."""
    call = session.scalar(select(VoiceCall).where(VoiceCall.call_sid == call_sid))
    if call is None:
        return None
    call.ended_at = call.ended_at or now
    call.twilio_status = status
    if duration is not None:
        call.duration_seconds = duration
    call.outcome = outcome_of(call)
    session.execute(delete(VoiceTurn).where(VoiceTurn.call_sid == call_sid))
    session.execute(delete(VoiceCallState).where(VoiceCallState.call_sid == call_sid))
    # The call is over: whatever access the secure step granted ends with it.
    session.execute(
        update(AuthSession)
        .where(AuthSession.conversation_id == call_sid, AuthSession.channel == Channel.voice,
               AuthSession.revoked.is_(False))
        .values(revoked=True)
    )
    return call.outcome


def purge_stale(session: Session, *, now: datetime) -> int:
    """Forget the working data of calls whose status callback never came."""
    stale = select(VoiceCallState.call_sid).where(VoiceCallState.updated_at < now - STALE_AFTER)
    sids = list(session.scalars(stale))
    if not sids:
        return 0
    session.execute(delete(VoiceTurn).where(VoiceTurn.call_sid.in_(sids)))
    session.execute(delete(VoiceCallState).where(VoiceCallState.call_sid.in_(sids)))
    logger.info("forgot the working data of %d calls without a status callback", len(sids))
    return len(sids)
