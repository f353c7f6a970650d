"""The turn guard: a turn whose actions could not all run is undone and answered with the marker.

Rasa 3.6's processor catches an exception of any action (a custom action whose
action server is down, a response refused by :mod:`bot.channels.nlg`), logs it
with its traceback on the ``rasa.core.processor`` logger, drops that action's
events and goes on predicting: forms open without validation, slots stay empty
and the turn ends with a read-back of nothing. The gateway channels run each
turn inside :func:`watched_turn`, which notices such a failure

- from the processor's log record: an ERROR *with an exception attached* on
  that logger, during this turn (per asyncio task, through a context variable;
  the message wording is not read);
- from the NLG directly (:func:`note_failure`), which does not depend on logging.

So Rasa's logging must leave that logger enabled at ERROR (the default, also
with ``--quiet``); a ``--logging-config-file`` that disables it would hide
failed actions from the guard (the gateway's empty-reply rule still applies).

After a failed turn the channel calls :func:`rewind_turn`: Rasa's own
``UserUtteranceReverted`` plus ``action_listen``, so the tracker is back where it
was before the person spoke (no half-opened form, no slot of the failed turn)
and the next turn, once the action server is back, starts cleanly. The events
stay in the tracker store for the record; the reply is only
:func:`bot.contract.turn_failed_reply`, which the gateway turns into its apology.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from bot.contract import ACTION_FAILED, TURN_FAILED

logger = logging.getLogger(__name__)

PROCESSOR_LOGGER = "rasa.core.processor"
"""Where Rasa 3.6 logs an action that raised (``MessageProcessor._run_action``)."""


@dataclass
class TurnFaults:
    """What went wrong during one turn (empty: nothing)."""

    reasons: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.reasons)


_current: ContextVar[Optional[TurnFaults]] = ContextVar("gateway_turn_faults", default=None)


def note_failure(reason: str) -> None:
    """Mark the turn being processed in this task as failed (no-op outside a turn)."""
    faults = _current.get()
    if faults is not None:
        faults.reasons.append(reason)


class _ActionErrors(logging.Handler):
    """Notes the processor's "an action raised" records for the current turn."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            note_failure(ACTION_FAILED)


def _install() -> None:
    processor_logger = logging.getLogger(PROCESSOR_LOGGER)
    if not any(isinstance(handler, _ActionErrors) for handler in processor_logger.handlers):
        processor_logger.addHandler(_ActionErrors())


@contextmanager
def watched_turn() -> Iterator[TurnFaults]:
    """Collect the failures of the turn run inside the block (same asyncio task)."""
    _install()  # every turn: Rasa's logging set-up may replace handlers at start
    faults = TurnFaults()
    token = _current.set(faults)
    try:
        yield faults
    finally:
        _current.reset(token)


async def rewind_turn(agent: Any, sender_id: str, faults: TurnFaults) -> bool:
    """Undo the failed turn in the tracker, as if the person had not spoken yet.

    Rasa's ``UserUtteranceReverted`` takes the turn out of what the policies
    see; but inside a form Rasa also folds earlier answers away, so the revert
    can reach back further than this turn. The slots and the active form are
    therefore set back explicitly to what they were before the turn's message,
    and ``action_listen`` waits for the next one. Returns whether the tracker
    was rewound (a tracker store that is down too is logged; the person hears
    the apology either way).
    """
    try:
        async with agent.lock_store.lock(sender_id):
            tracker = await agent.tracker_store.retrieve(sender_id)
            if tracker is None:
                return False
            tracker.update_with_events(rewind_events(tracker, faults, agent.domain), agent.domain)
            await agent.tracker_store.save(tracker)
    except Exception:  # noqa: BLE001 - the apology must go out even so
        logger.exception("the failed turn could not be undone in the tracker")
        return False
    return True


def rewind_events(tracker: Any, faults: TurnFaults, domain: Any) -> list[Any]:
    """The events that bring ``tracker`` back to its state before its last user message."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        SlotSet,
        UserUttered,
        UserUtteranceReverted,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    events = list(tracker.events)
    last_user = max((i for i, event in enumerate(events) if isinstance(event, UserUttered)),
                    default=len(events))
    before = DialogueStateTracker.from_events(tracker.sender_id, events[:last_user],
                                              slots=domain.slots, domain=domain)
    reverted = tracker.copy()
    revert = UserUtteranceReverted(metadata={TURN_FAILED: ",".join(faults.reasons)})
    reverted.update(revert, domain)
    restore: list[Any] = [revert]
    for name, slot in before.slots.items():
        if reverted.slots[name].value != slot.value:
            restore.append(SlotSet(name, slot.value))
    if reverted.active_loop_name != before.active_loop_name:
        restore.append(ActiveLoop(before.active_loop_name))
    restore.append(ActionExecuted(ACTION_LISTEN_NAME))
    return restore
