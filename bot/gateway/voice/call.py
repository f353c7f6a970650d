"""One phone call across its webhooks: claim the turn, run it once, save it.

:class:`VoiceService` is built once per gateway (:func:`bot.gateway.voice.init_app`)
from ``flows/`` and the settings. :meth:`VoiceService.handle` runs one Twilio
webhook:

1. a CallSid that cannot be Twilio's gets a spoken apology and the end of the call;
2. the call's state is loaded (an unknown CallSid starts a call afresh) and the
   turn claimed under its key (endpoint + turn number): a retried webhook gets
   the TwiML already answered, a stale one hears the current prompt again, and
   nothing runs twice;
3. the turn runs (:mod:`.dialogue`) with no database transaction open (Rasa's
   actions write to the same database) and within the turn deadline;
4. state and answer are saved together (:mod:`.store`).

Whatever fails (Rasa, the actions, the database), the caller hears an apology
and is transferred to a person, or outside agent hours gets a callback
(:mod:`.agents`). Twilio's status callback ends the call's record.
"""
from __future__ import annotations

import logging
import re
import time

from sqlalchemy.exc import SQLAlchemyError

from bot.flows import AgentHours, Menu
from bot.flows.voice import VoiceFlow
from bot.gateway.rasa import RasaClient
from bot.gateway.voice import store
from bot.gateway.voice.agents import Agents
from bot.gateway.voice.dialogue import CallDialogue
from bot.gateway.voice.readout import Part
from bot.gateway.voice.render import Prompter, Speaker
from bot.gateway.voice.security import describe_input
from bot.gateway.voice.sms import SmsSender
from bot.gateway.voice.twiml import KEY_MODES, Twiml
from bot.gateway.voice.webhook import Params
from bot.records.clock import utc_now
from bot.records.db import session_scope
from bot.settings import Settings

__all__ = ["Params", "VoiceService"]

logger = logging.getLogger("bot.gateway.voice")

CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
SAFETY_MARGIN_S = 0.3          # kept back from the deadline to write the answer
WAIT_POLL_S = 0.1


class VoiceService:
    """Everything the voice webhooks need, built once at gateway start."""

    def __init__(self, settings: Settings, flow: VoiceFlow, menus: dict[str, Menu],
                 hours: AgentHours, rasa: RasaClient | None = None,
                 sms: SmsSender | None = None) -> None:
        self.settings = settings
        self.flow = flow
        self.twiml = Twiml(flow, settings.agent_transfer_target or hours.transfer_target)
        self.speaker = Speaker(flow)
        prompter = Prompter(self.twiml)
        self.agents = Agents(settings, hours, self.speaker, prompter)
        # The gateway's SMS sender (the web chat's verification sends through it too).
        self.sms = sms or SmsSender(settings, flow.sms)
        self.dialogue = CallDialogue(
            settings, flow, menus, self.speaker, prompter, self.agents,
            rasa=rasa or RasaClient(settings.replica_urls, channel="voice",
                                    channel_secret=settings.gateway_channel_secret),
            sms=self.sms,
        )
        self.deadline_s = settings.voice_turn_deadline_ms / 1000

    def say(self, text: str) -> list[Part]:
        """``text`` as the phone says it (read-out rules of ``flows/voice.yml``)."""
        return self.speaker.say(text)

    def db(self):  # noqa: ANN201 - a context manager
        return session_scope(self.settings.database_url)

    # ------------------------------------------------------------ the webhook

    def handle(self, endpoint: str, params: Params) -> str:
        """Run one webhook and return its TwiML. Never raises."""
        started = time.monotonic()
        deadline = started + self.deadline_s
        if not CALL_SID.fullmatch(params.call_sid):
            logger.warning("voice %s: malformed or missing CallSid; ending the call", endpoint)
            return self.twiml.end(self.speaker.prompt("bad_request"))
        if endpoint == "status":
            return self._status(params)
        key = "incoming" if endpoint == "incoming" else f"{endpoint}:{params.turn}"
        now = utc_now()
        try:
            with self.db() as session:
                state = store.load_state(session, params.call_sid)
                if state is None:
                    state = store.start_call(session, params.call_sid, from_number=params.from_number,
                                             to_number=params.to_number, now=now)
                    if endpoint == "incoming":
                        store.purge_stale(session, now=now)
                done = store.find_turn(session, params.call_sid, key)
                answered_before = done.twiml if done is not None and done.twiml else None
                fresh = done is None and (
                    state.is_new if endpoint == "incoming"
                    else (not state.is_new and params.turn == state.turn
                          and self.dialogue.expects(endpoint, state.mode))
                )
                claimed = fresh and store.claim_turn(session, params.call_sid, key, now=now)
        except SQLAlchemyError:
            logger.exception("voice %s: the database failed before the turn", endpoint)
            return self.agents.without_records()
        if answered_before is not None:
            logger.info("voice %s call=…%s: retried webhook answered from the turn record",
                        endpoint, params.call_sid[-6:])
            return answered_before
        if done is not None or (fresh and not claimed):
            return self._wait_for(params.call_sid, key, deadline, endpoint, params.turn)

        mode_before = state.mode
        try:
            if fresh:
                state.turns += endpoint != "incoming"  # turns the caller took
                twiml = self.dialogue.run(endpoint, state, params, deadline - SAFETY_MARGIN_S)
            else:
                twiml = self.dialogue.current_prompt(state)
        except Exception:  # noqa: BLE001 - the caller must hear something
            logger.exception("voice %s call=…%s: turn failed", endpoint, params.call_sid[-6:])
            twiml = self.agents.system_error(state)
        try:
            with self.db() as session:
                store.save_state(session, state, now=utc_now())
                if fresh:
                    store.finish_turn(session, params.call_sid, key, twiml, now=utc_now())
        except SQLAlchemyError:
            logger.exception("voice %s: the call state could not be saved", endpoint)
        logger.info(
            "voice %s call=…%s t=%s mode=%s->%s %s %s %.0fms", endpoint, params.call_sid[-6:],
            params.turn, mode_before, state.mode,
            describe_input(params.digits, params.speech,
                           reveal_keys=mode_before in KEY_MODES and endpoint == "turn"),
            "fresh" if fresh else "stale", (time.monotonic() - started) * 1000,
        )
        return twiml

    def _wait_for(self, call_sid: str, key: str, deadline: float, endpoint: str,
                  turn: int | None) -> str:
        """A copy of this webhook is being handled: wait for its answer, briefly."""
        while time.monotonic() < deadline - SAFETY_MARGIN_S:
            time.sleep(WAIT_POLL_S)
            try:
                with self.db() as session:
                    row = store.find_turn(session, call_sid, key)
                    if row is not None and row.twiml:
                        return row.twiml
            except SQLAlchemyError:
                break
        return self.twiml.wait(self.speaker.prompt("busy_wait"), f"{endpoint}?t={turn}")

    # ------------------------------------------------------------ end of call

    def _status(self, params: Params) -> str:
        status = params.call_status or ""
        if status not in store.FINAL_STATUSES:
            return self.twiml.empty()
        try:
            with self.db() as session:
                outcome = store.end_call(session, params.call_sid, status=status,
                                         duration=params.duration, now=utc_now())
        except SQLAlchemyError:
            logger.exception("the end of call …%s could not be recorded", params.call_sid[-6:])
            return self.twiml.empty()
        logger.info("voice status call=…%s %s duration=%ss outcome=%s", params.call_sid[-6:],
                    status, params.duration, outcome.value if outcome else "unknown call")
        return self.twiml.empty()
