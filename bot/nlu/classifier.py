"""Intent and topic classifier on character n-grams (loaded by Rasa only).

One linear model decides the intent *and*, for a retrieval intent such as
``faq``, the topic: its labels are the intents plus every
``<retrieval intent>/<key>``. A retrieval intent listed in ``separate_topics``
(``out_of_scope``) is one label of that model instead, and a second model,
trained on its examples alone, picks its topic: splitting it would move the
intent model's boundaries, and rejecting what is out of scope matters more
than which service it is pointed to. Character
n-grams (1–3 within words, TF-IDF, sublinear) are what Chinese text carries its
meaning in, and they absorb segmentation mistakes on dialect and speech
recognition; a regularised logistic regression on them generalised better to
phrasing the team never wrote than DIET with a separate ResponseSelector
(README, "Understanding Chinese", has the figures).

Output is what Rasa's own components would produce, so rules, the retrieval
action and the FallbackClassifier work unchanged:

- ``intent`` / ``intent_ranking``: the probabilities of a retrieval intent's
  topics are summed into it (``faq/loan_rate`` + ``faq/loan_limit`` … -> ``faq``);
  a separate-topics intent's probability is shared among its topics by the
  topic model first, so that sum is the intent model's own figure;
- ``response_selector.<retrieval intent>``: the chosen topic
  (``intent_response_key``, ``utter_action`` ``utter_faq/<key>``) and the topic
  ranking, confidence conditional on the retrieval intent;
- ``label_ranking``: the flat ranking of intents and topics, read by the
  clarifying question when the two best are close.

The model is persisted with skops (no pickle), as Rasa's own scikit-learn
components are.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

LABEL_RANKING_KEY = "label_ranking"
RESPONSE_SELECTOR_KEY = "response_selector"


def split_label(label: str) -> tuple[str, Optional[str]]:
    """``"faq/loan_rate"`` -> ``("faq", "faq/loan_rate")``; ``"greet"`` -> ``("greet", None)``."""
    if "/" in label:
        return label.split("/", 1)[0], label
    return label, None


def _load_sklearn(path: Any) -> Any:
    """A scikit-learn model saved with skops, refusing any type from elsewhere."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    unexpected = [t for t in untrusted if not t.startswith(("sklearn.", "numpy.", "scipy.sparse."))]
    if unexpected:
        raise ValueError(f"unexpected types in {path}: {unexpected}")
    return sio.load(path, trusted=untrusted)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CharNgramClassifier(IntentClassifier, GraphComponent):
    """TF-IDF character n-grams and logistic regression over intents and topics."""

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "min_ngram": 1,
            "max_ngram": 3,
            "C": 30.0,
            "max_iter": 5000,
            "ranking_length": 10,
            # Retrieval intents whose topic a model of its own picks (see above).
            "separate_topics": [],
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
        responses: Optional[Dict[Text, List[Dict[Text, Any]]]] = None,
        topic_models: Optional[Dict[Text, Any]] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._responses = responses or {}
        self._topic_models: Dict[Text, Any] = topic_models or {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CharNgramClassifier":
        return cls(config, model_storage, resource)

    def _new_model(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        return Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(int(self.config["min_ngram"]), int(self.config["max_ngram"])),
                        sublinear_tf=True,
                    ),
                ),
                (
                    "lr",
                    LogisticRegression(
                        C=float(self.config["C"]),
                        max_iter=int(self.config["max_iter"]),
                        random_state=9631,
                    ),
                ),
            ]
        )

    @staticmethod
    def _label(example: Message) -> Optional[str]:
        return example.get(INTENT_RESPONSE_KEY) or example.get(INTENT)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(TEXT) and self._label(e)]
        if not examples:
            logger.debug("CharNgramClassifier: no intent examples, nothing trained")
            return self._resource
        texts = [e.get(TEXT) for e in examples]
        labels = [self._label(e) for e in examples]
        separate = set(self.config["separate_topics"])
        model = self._new_model()
        model.fit(texts, [split_label(l)[0] if split_label(l)[0] in separate else l for l in labels])
        self._model = model
        self._topic_models = {}
        for intent in sorted(separate):
            own = [(text, label) for text, label in zip(texts, labels) if label.startswith(f"{intent}/")]
            if len({label for _, label in own}) < 2:
                raise ValueError(
                    f"config.yml, CharNgramClassifier separate_topics: '{intent}' needs "
                    f"examples of at least two '{intent}/<topic>' labels in data/nlu"
                )
            topic_model = self._new_model()
            topic_model.fit([text for text, _ in own], [label for _, label in own])
            self._topic_models[intent] = topic_model
        self._responses = {
            name: list(value) for name, value in (training_data.responses or {}).items()
        }
        self.persist()
        return self._resource

    def persist(self) -> None:
        import json

        import skops.io as sio

        with self._model_storage.write_to(self._resource) as model_dir:
            sio.dump(self._model, model_dir / "char_ngram.skops")
            for intent, topic_model in self._topic_models.items():
                sio.dump(topic_model, model_dir / f"topics.{intent}.skops")
            (model_dir / "topic_models.json").write_text(
                json.dumps(sorted(self._topic_models)), encoding="utf-8"
            )
            (model_dir / "responses.json").write_text(
                json.dumps(self._responses, ensure_ascii=False), encoding="utf-8"
            )

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "CharNgramClassifier":
        import json

        try:
            with model_storage.read_from(resource) as model_dir:
                model = _load_sklearn(model_dir / "char_ngram.skops")
                responses = json.loads((model_dir / "responses.json").read_text(encoding="utf-8"))
                names_file = model_dir / "topic_models.json"  # absent in older models
                names = json.loads(names_file.read_text(encoding="utf-8")) if names_file.exists() else []
                topic_models = {
                    name: _load_sklearn(model_dir / f"topics.{name}.skops") for name in names
                }
        except ValueError as exc:
            logger.warning("CharNgramClassifier could not be loaded (%s); untrained", exc)
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, model, responses, topic_models)

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        texts = [message.get(TEXT) or "" for message in messages]
        probabilities = self._model.predict_proba(texts)
        classes = [str(label) for label in self._model.classes_]
        topic_rows = {
            intent: ([str(label) for label in topic_model.classes_], topic_model.predict_proba(texts))
            for intent, topic_model in self._topic_models.items()
        }
        for index, (message, row) in enumerate(zip(messages, probabilities)):
            labelled: List[tuple[str, float]] = []
            for label, probability in zip(classes, row):
                if label in topic_rows:
                    # The intent's probability, shared among its topics.
                    topic_classes, topic_probabilities = topic_rows[label]
                    labelled.extend(
                        (topic, float(probability) * float(share))
                        for topic, share in zip(topic_classes, topic_probabilities[index])
                    )
                else:
                    labelled.append((label, float(probability)))
            self._set_prediction(message, sorted(labelled, key=lambda p: -p[1]))
        return messages

    def _set_prediction(self, message: Message, ranked: List[tuple[str, float]]) -> None:
        length = int(self.config["ranking_length"])
        by_intent: Dict[str, float] = defaultdict(float)
        topics: Dict[str, List[tuple[str, float]]] = defaultdict(list)
        for label, probability in ranked:
            intent, topic = split_label(label)
            by_intent[intent] += float(probability)
            if topic:
                topics[intent].append((topic, float(probability)))
        intent_ranking = [
            {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
            for name, confidence in sorted(by_intent.items(), key=lambda p: -p[1])
        ][:length]
        message.set(INTENT, intent_ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, intent_ranking, add_to_output=True)
        message.set(
            LABEL_RANKING_KEY,
            [{"label": label, PREDICTED_CONFIDENCE_KEY: float(p)} for label, p in ranked[:length]],
            add_to_output=True,
        )
        for retrieval_intent, ranked_topics in sorted(topics.items()):
            self._set_topic(
                message, retrieval_intent, ranked_topics, by_intent[retrieval_intent], length
            )

    def _set_topic(
        self,
        message: Message,
        retrieval_intent: str,
        topics: List[tuple[str, float]],
        intent_probability: float,
        length: int,
    ) -> None:
        total = intent_probability or 1.0
        key, probability = topics[0]
        utter_action = f"utter_{key}"
        selector = message.get(RESPONSE_SELECTOR_KEY) or {}
        retrieval_intents = list(selector.get("all_retrieval_intents", []))
        if retrieval_intent not in retrieval_intents:
            retrieval_intents.append(retrieval_intent)
        selector["all_retrieval_intents"] = retrieval_intents
        selector[retrieval_intent] = {
            "response": {
                "responses": self._responses.get(utter_action, []),
                PREDICTED_CONFIDENCE_KEY: probability / total,
                INTENT_RESPONSE_KEY: key,
                "utter_action": utter_action,
            },
            "ranking": [
                {INTENT_RESPONSE_KEY: name, PREDICTED_CONFIDENCE_KEY: p / total, "id": index}
                for index, (name, p) in enumerate(topics[:length])
            ],
        }
        message.set(RESPONSE_SELECTOR_KEY, selector, add_to_output=True)
