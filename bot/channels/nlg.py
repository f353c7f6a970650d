"""The assistant's response generator: Rasa's templated one that never renders an empty slot.

Loaded by Rasa from the endpoints file (``nlg: type: bot.channels.nlg.SlotCheckingGenerator``,
both ``endpoints.yml`` and ``endpoints.production.yml``). It picks and fills a
response exactly as Rasa 3.6 does, but a response whose placeholder would be
filled with nothing (a missing slot, ``None``, ``""``: see
:mod:`bot.channels.placeholders`) is refused: :class:`EmptySlotRefused` is
raised instead of a reply like "类别：None". That happens when an action that
should have filled the slot could not run (action server down). Rasa's
processor catches the exception like any failed action, and the turn guard
(:mod:`bot.channels.turn_guard`) turns the whole turn into the apology path.
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Dict, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from bot.channels.placeholders import empty_placeholders
from bot.channels.turn_guard import note_failure
from bot.contract import EMPTY_SLOT

logger = logging.getLogger(__name__)


class EmptySlotRefused(RuntimeError):
    """A response would have rendered an empty slot; it is not sent."""

    def __init__(self, utter_action: str, names: list[str]) -> None:
        super().__init__(f"{utter_action} refused: no value for {', '.join(names)}")
        self.utter_action, self.names = utter_action, names


class SlotCheckingGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's templated generator, refusing responses with empty placeholders."""

    def __init__(self, endpoint_config: Any = None, domain: Any = None, **_: Any) -> None:
        # Rasa builds the generator before the model's domain is loaded and then
        # sets ``responses`` from it (rasa.core.agent.Agent.load_model).
        super().__init__(domain.responses if domain is not None else {})

    def generate_from_slots(
        self,
        utter_action: Text,
        filled_slots: Dict[Text, Any],
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        response = self._random_response_for(utter_action, output_channel, filled_slots)
        if response is None:
            return None
        values = self._response_variables(filled_slots, kwargs)
        missing = empty_placeholders(response, values)
        if missing:
            # Names of slots only: their values may be personal data.
            note_failure(EMPTY_SLOT)
            raise EmptySlotRefused(utter_action, missing)
        return self._fill_response(copy.deepcopy(response), filled_slots, **kwargs)
