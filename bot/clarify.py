"""The clarifying question: when to ask instead of guess, and what to offer.

When the two best labels of the NLU's flat ``label_ranking`` (intents and
``faq/<key>`` topics, see :mod:`bot.nlu.classifier`) are both plausible and
close, the assistant asks one short question with both as buttons instead of
guessing or asking to rephrase. This module is the one owner of that decision:
the thresholds, which labels may be offered, and the table of their button
titles and payloads (``flows/topics.yml``). It imports only the standard
library and PyYAML, so both environments use it: the action server
(``actions/clarify.py``) and the NLU evaluation in the Rasa environment
(``scripts/eval_nlu.py``, ``scripts/clarify_cv.py``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Container, Iterable, Mapping, Optional, Sequence

from bot.contract import SYSTEM_INTENTS, intent_message
from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml

TOPICS_FILE = FLOWS_DIR / "topics.yml"
# The policy topics' titles and questions are the knowledge base's catalogue
# (knowledge/*.yml: key, title, ask), not repeated in topics.yml.
KNOWLEDGE_DIR = FLOWS_DIR.parent / "knowledge"

# The thresholds, chosen on cross-validated predictions of data/nlu, never on
# the held-out sets: `scripts/clarify_cv.py` scores a grid of them in turns
# saved (an avoided wrong answer counts two turns, an avoided rephrase one, a
# needless or vain question costs one) and prints the best; README
# ("Understanding Chinese") has the figures. Both of the two best labels must
# reach MIN_CONFIDENCE, and the second may trail the first by at most
# MAX_MARGIN (probabilities of one softmax over all labels).
MIN_CONFIDENCE = 0.2
MAX_MARGIN = 0.15

# Labels a clarifying question never offers, and why. A pair with one of them
# is not asked about: the assistant rephrases or answers as it would without
# the question.
NOT_OFFERED: Mapping[str, str] = {
    "greet": "small talk: asking whether someone meant 'hello' makes no sense",
    "goodbye": "small talk",
    "thank": "small talk",
    "affirm": "an answer to a question, not a question of its own",
    "deny": "an answer to a question, not a question of its own",
    "inform": "a bare value (number, category) only means something in context",
    "bot_challenge": "small talk about the assistant itself",
    "out_of_scope": (
        "whether a question is ours at all is the intent model's decision; "
        "offering a pointer elsewhere as a guess would blur it"
    ),
    "nlu_fallback": "not a label of the classifier",
    **{intent: "only the gateway sends it after the secure step" for intent in SYSTEM_INTENTS},
}

# The payload of the "none of these" button: Rasa's own fallback intent, so the
# choice is a miss like any other (the second miss in a row offers a person).
NONE_OF_THESE_INTENT = "nlu_fallback"

MAX_TITLE = 40  # what the web chat shows of a button title (bot/gateway/chat/replies.py)


class TopicsError(FlowsError):
    """``flows/topics.yml`` is missing or malformed."""


@dataclass(frozen=True)
class Offer:
    """One option of a clarifying question: its button title and payload."""

    label: str
    title: str
    payload: str

    def button(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Topics:
    """The table of ``flows/topics.yml``."""

    offers: Mapping[str, Offer]
    none_of_these: Offer

    def offerable(self, label: str) -> bool:
        return label in self.offers


def not_offered_reason(label: str) -> Optional[str]:
    """Why ``label`` (``faq/loan_rate``, ``greet``) is never offered, or None."""
    return NOT_OFFERED.get(label) or NOT_OFFERED.get(label.split("/", 1)[0])


def close_pair(
    label_ranking: Optional[Sequence[Mapping[str, Any]]],
    offerable: Container[str],
    *,
    min_confidence: float = MIN_CONFIDENCE,
    max_margin: float = MAX_MARGIN,
) -> Optional[tuple[str, str]]:
    """The two best labels if a clarifying question should offer them, else None.

    Args:
        label_ranking: ``[{"label": "faq/loan_rate", "confidence": 0.41}, …]``,
            best first, as the classifier puts it in the parse data.
        offerable: labels that may be offered (see :meth:`Topics.offerable`).
    """
    ranked = sorted(
        (
            (str(item.get("label")), float(item.get("confidence") or 0.0))
            for item in label_ranking or []
            if isinstance(item, Mapping) and item.get("label")
        ),
        key=lambda pair: -pair[1],
    )
    if len(ranked) < 2:
        return None
    (first, p_first), (second, p_second) = ranked[0], ranked[1]
    if p_second < min_confidence or p_first - p_second > max_margin:
        return None
    if first not in offerable or second not in offerable:
        return None
    return first, second


def _offer(label: str, raw: Any, where: str) -> Offer:
    if not isinstance(raw, Mapping):
        raise TopicsError(f"{where}: must be a mapping with 'title'")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise TopicsError(f"{where}: missing 'title'")
    if len(title.strip()) > MAX_TITLE:
        raise TopicsError(f"{where}: title longer than {MAX_TITLE} characters")
    ask = raw.get("ask")
    if "/" in label:
        # A retrieval topic: Rasa 3.6 reads "/faq/loan_rate" as an unknown intent
        # and runs no response selector for "/faq", so the button sends a question
        # that the NLU resolves to the topic (tests/e2e checks every one).
        if not isinstance(ask, str) or not ask.strip() or ask.lstrip().startswith("/"):
            raise TopicsError(f"{where}: a topic needs 'ask', the question its button sends")
        payload = ask.strip()
    else:
        if ask is not None:
            raise TopicsError(f"{where}: an intent's button sends /{label}; remove 'ask'")
        try:
            payload = intent_message(label)
        except ValueError as exc:
            raise TopicsError(f"{where}: not an intent name") from exc
    reason = not_offered_reason(label)
    if reason:
        raise TopicsError(f"{where}: '{label}' is never offered ({reason})")
    return Offer(label, title.strip(), payload)


def parse_topics(data: Any, where: str = "topics") -> Topics:
    """Validate the content of ``flows/topics.yml``; errors name the entry at fault."""
    if not isinstance(data, Mapping):
        raise TopicsError(f"{where}: top level must be a mapping")
    raw_offers = data.get("offers")
    if not isinstance(raw_offers, Mapping) or not raw_offers:
        raise TopicsError(f"{where}: 'offers' must be a non-empty mapping")
    offers = {
        str(label): _offer(str(label), raw, f"{where}: offers.{label}")
        for label, raw in raw_offers.items()
    }
    none_title = data.get("none_of_these")
    if not isinstance(none_title, str) or not none_title.strip():
        raise TopicsError(f"{where}: missing 'none_of_these' (the title of that button)")
    none_of_these = Offer(
        NONE_OF_THESE_INTENT, none_title.strip(), intent_message(NONE_OF_THESE_INTENT)
    )
    return Topics(offers, none_of_these)


def policy_offers(directory: Path = KNOWLEDGE_DIR) -> dict[str, Offer]:
    """``faq/<key>`` offers from the knowledge base catalogue: its title and its question."""
    offers: dict[str, Offer] = {}
    for path in sorted(directory.glob("*.yml")):
        document = load_yaml(path.name, path.parent)
        for raw in (document or {}).get("topics") or ():
            label = f"faq/{raw.get('key')}"
            offers[label] = _offer(label, {"title": raw.get("title"), "ask": raw.get("ask")},
                                   f"{path}: {label}")
    return offers


@functools.lru_cache(maxsize=None)
def load_topics(path: Path = TOPICS_FILE, knowledge: Path = KNOWLEDGE_DIR) -> Topics:
    """The table of ``flows/topics.yml`` and the policy topics of ``knowledge/``, validated."""
    table = parse_topics(load_yaml(path.name, path.parent), str(path))
    return Topics({**policy_offers(knowledge), **table.offers}, table.none_of_these)


def buttons(topics: Topics, pair: Iterable[str]) -> list[dict[str, str]]:
    """The buttons of a clarifying question: the two options, then "none of these"."""
    return [topics.offers[label].button() for label in pair] + [topics.none_of_these.button()]
