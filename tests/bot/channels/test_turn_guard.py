"""The turn guard (bot.channels.turn_guard): which turns count as failed, per asyncio task.

The real processor and channels are exercised end to end in
tests/e2e/test_action_server_down.py; here the rule itself: an ERROR with an
exception on Rasa's processor logger, or a refusal noted by the NLG, fails the
turn being processed in that task, and nothing else does.
"""
from __future__ import annotations

import asyncio
import logging

from bot.channels.turn_guard import PROCESSOR_LOGGER, note_failure, watched_turn
from bot.contract import ACTION_FAILED, EMPTY_SLOT

processor = logging.getLogger(PROCESSOR_LOGGER)


def _action_raised() -> None:
    try:
        raise RuntimeError("Failed to execute custom action")
    except RuntimeError:
        processor.exception("any wording")


def test_an_action_that_raised_fails_the_turn() -> None:
    with watched_turn() as faults:
        _action_raised()
    assert faults.reasons == [ACTION_FAILED] and faults


def test_the_nlg_refusal_fails_the_turn() -> None:
    with watched_turn() as faults:
        note_failure(EMPTY_SLOT)
    assert faults.reasons == [EMPTY_SLOT]


def test_errors_without_an_exception_and_other_loggers_do_not() -> None:
    with watched_turn() as faults:
        processor.error("Trying to run unknown follow-up action")
        processor.warning("something")
        try:
            raise ValueError("x")
        except ValueError:
            logging.getLogger("rasa.core.actions.action").exception("logged elsewhere")
    assert not faults and faults.reasons == []


def test_outside_a_turn_nothing_is_noted_and_nothing_breaks() -> None:
    _action_raised()
    note_failure(EMPTY_SLOT)
    with watched_turn() as faults:
        pass
    assert not faults


def test_one_handler_however_many_turns() -> None:
    for _ in range(3):
        with watched_turn():
            pass
    guards = [h for h in processor.handlers if type(h).__name__ == "_ActionErrors"]
    assert len(guards) == 1


def test_concurrent_turns_keep_their_own_failures() -> None:
    async def turn(fail: bool, results: dict[str, list[str]], key: str) -> None:
        with watched_turn() as faults:
            await asyncio.sleep(0.01)
            if fail:
                _action_raised()
            await asyncio.sleep(0.01)
        results[key] = faults.reasons

    async def both() -> dict[str, list[str]]:
        results: dict[str, list[str]] = {}
        await asyncio.gather(turn(True, results, "failing"), turn(False, results, "fine"))
        return results

    assert asyncio.run(both()) == {"failing": [ACTION_FAILED], "fine": []}
