"""Custom Rasa NLU components (loaded by the Rasa environment only).

``SpokenNumberNormalizer`` runs first: it rewrites spoken and grouped numbers to
ASCII digits (see :mod:`bot.nlu.normalize`) for training and parsing alike, so
the regex entity extractor sees "510104199003071237" whether the caller typed or
said it.

``InputGuard`` runs last: a message that is empty, too long, or has no Chinese
is routed to ``nlu_fallback`` with full confidence, so the assistant answers it
with a clear Chinese message instead of guessing an intent.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalize import classify_unusable, normalize_text


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SpokenNumberNormalizer(GraphComponent):
    """Rewrites spoken Chinese digits and grouped digits before tokenisation."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SpokenNumberNormalizer":
        return cls()

    @staticmethod
    def _normalize(message: Message) -> None:
        text = message.get(TEXT)
        if text:
            message.set(TEXT, normalize_text(text))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            # Annotated examples keep their text: entity offsets point into it.
            if not example.get("entities"):
                self._normalize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class InputGuard(GraphComponent):
    """Sends unusable input (empty, over-long, no Chinese) to ``nlu_fallback``."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_length": 2000}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._max_length = int(config.get("max_length", 2000))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "InputGuard":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            reason: Optional[str] = classify_unusable(message.get(TEXT), self._max_length)
            if reason is None:
                continue
            fallback = {
                INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                PREDICTED_CONFIDENCE_KEY: 1.0,
            }
            message.set(INTENT, fallback, add_to_output=True)
            ranking = message.get(INTENT_RANKING_KEY) or []
            message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
            message.set("unusable_input", reason, add_to_output=True)
        return messages
