"""Where should the assistant ask instead of guess? Cross-validated on data/nlu.

Runs in the Rasa environment (``.venv/rasa/bin/python scripts/clarify_cv.py``).
Each training example is predicted by a model trained on the other folds, with
the pipeline's own normaliser, classifier (config.yml's settings) and fallback
thresholds. For a grid of thresholds (both of the two best labels at least
``floor``, the second within ``margin`` of the first) it counts what a
clarifying question would do on the turns it is asked on — in the fallback
action (``nlu_fallback``) and on ``faq`` turns, as actions/clarify.py does:

- ``saved``: the right label is one of the two options where the turn was a
  fallback (a rephrase avoided) or a wrong FAQ answer (a wrong answer avoided);
- ``extra``: the FAQ answer was right already and now costs a click;
- ``neither``: neither option is right (the person presses 都不是).

Each setting gets a score in turns saved: an avoided wrong answer is worth
:data:`WRONG_ANSWER_TURNS` (a complete answer to another question, read out in
full on the phone, then the question asked again), an avoided rephrase one turn,
and a needless or vain question costs one. The best setting is printed; the
thresholds in ``bot/clarify.py`` are that one.

The held-out sets are never used here: they measure the result.
"""
from __future__ import annotations

import argparse
import collections
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clarify import MAX_MARGIN, MIN_CONFIDENCE, close_pair, load_topics  # noqa: E402

FALLBACK = "nlu_fallback"
WRONG_ANSWER_TURNS = 2
FLOORS = (0.15, 0.2, 0.25, 0.3)
MARGINS = (0.05, 0.1, 0.15, 0.2, 0.25)


def pipeline_settings(config_path: Path) -> tuple[dict[str, Any], float, float]:
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    classifier: dict[str, Any] = {}
    threshold, ambiguity = 0.3, 0.1
    for step in config["pipeline"]:
        if step["name"].endswith("CharNgramClassifier"):
            classifier = {k: v for k, v in step.items() if k != "name"}
        elif step["name"] == "FallbackClassifier":
            threshold = float(step.get("threshold", threshold))
            ambiguity = float(step.get("ambiguity_threshold", ambiguity))
    return classifier, threshold, ambiguity


def cross_validated(folds: int, seed: int) -> list[dict[str, Any]]:
    """One row per training example: its label and the held-out-fold prediction.

    The examples are shuffled into folds with ``seed``; each repeat of the
    cross-validation uses another seed, so a threshold is not read off one
    lucky split.
    """
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.classifier import CharNgramClassifier
    from bot.nlu.components import SpokenNumberNormalizer

    classifier_config, threshold, ambiguity = pipeline_settings(ROOT / "config.yml")
    data = load_data(str(ROOT / "data" / "nlu"))
    SpokenNumberNormalizer().process_training_data(data)
    examples = [e for e in data.intent_examples if e.get(TEXT)]
    labels = [e.get(INTENT_RESPONSE_KEY) or e.get(INTENT) for e in examples]
    rows: list[dict[str, Any]] = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with tempfile.TemporaryDirectory() as tmp:
        for fold, (train, test) in enumerate(splitter.split(examples, labels)):
            storage = LocalModelStorage.create(Path(tmp))
            context = ExecutionContext(GraphSchema({}), "clarify-cv")
            model = CharNgramClassifier.create(
                classifier_config, storage, Resource(f"fold{fold}"), context
            )
            model.train(TrainingData([examples[i] for i in train]))
            messages = [Message({TEXT: examples[i].get(TEXT)}) for i in test]
            model.process(messages)
            for i, message in zip(test, messages):
                intents = message.get("intent_ranking")
                top = intents[0]
                second = intents[1]["confidence"] if len(intents) > 1 else 0.0
                intent = top["name"]
                if top["confidence"] < threshold or top["confidence"] - second < ambiguity:
                    intent = FALLBACK
                predicted = intent
                if intent == "faq":
                    predicted = message.get("response_selector")["faq"]["response"][
                        "intent_response_key"
                    ]
                rows.append(
                    {
                        "label": labels[i],
                        "intent": intent,
                        "predicted": predicted,
                        "ranking": message.get("label_ranking"),
                    }
                )
            print(f"  seed {seed}: fold {fold + 1}/{folds} done", file=sys.stderr)
    return rows


def same(expected: str, predicted: str) -> bool:
    """As scripts/eval_nlu.py scores: any out-of-scope topic counts as out_of_scope."""
    if expected.startswith("out_of_scope"):
        return predicted.startswith("out_of_scope") or predicted == FALLBACK
    return expected == predicted


def outcome(rows: list[dict[str, Any]], floor: float, margin: float, offerable) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for row in rows:
        if row["intent"] not in (FALLBACK, "faq"):
            continue
        where = "fallback" if row["intent"] == FALLBACK else "faq"
        pair = close_pair(row["ranking"], offerable, min_confidence=floor, max_margin=margin)
        if pair is None:
            close = close_pair(row["ranking"], _Everything(), min_confidence=floor, max_margin=margin)
            if close:
                counts["not_offered"] += 1
                for label in close:
                    if label not in offerable:
                        counts["not_offered:" + label.split("/")[0]] += 1
            continue
        counts[f"asked_{where}"] += 1
        if same(row["label"], row["predicted"]):
            counts["extra"] += 1
        elif any(same(row["label"], label) for label in pair):
            counts[f"saved_{where}"] += 1
        else:
            counts["neither"] += 1
    return counts


def score(c: dict[str, int]) -> int:
    """Turns saved by asking (see the module docstring)."""
    return WRONG_ANSWER_TURNS * c["saved_faq"] + c["saved_fallback"] - c["extra"] - c["neither"]


class _Everything:
    def __contains__(self, label: object) -> bool:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[9631, 96319, 86279298])
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.disable(logging.WARNING)

    by_seed = {seed: cross_validated(args.folds, seed) for seed in args.seeds}
    rows = [row for seed_rows in by_seed.values() for row in seed_rows]
    offerable = load_topics().offers
    total = len(rows)
    right = sum(same(r["label"], r["predicted"]) for r in rows)
    fallbacks = sum(r["intent"] == FALLBACK and not same(r["label"], FALLBACK) for r in rows)
    print(f"{total // len(args.seeds)} examples, {args.folds}-fold, {len(args.seeds)} shuffles "
          f"({total} predictions): right {right / total:.3f}, "
          f"nlu_fallback {fallbacks / total:.3f}, wrong {(total - right - fallbacks) / total:.3f}")
    print("Counts over all predictions. asked = on nlu_fallback + on faq turns;")
    print("saved = the right label is an option where the turn was a fallback / a wrong faq answer;")
    print("extra = the faq answer was right already; neither = no option right;")
    print("not offered = close, but a label is never offered (bot.clarify.NOT_OFFERED).")
    print("floor margin   asked (fb + faq)   saved (fb + faq)   extra  neither  not-offered"
          "  score (per shuffle)")
    scores = {}
    for floor in FLOORS:
        for margin in MARGINS:
            c = outcome(rows, floor, margin, offerable)
            asked = c["asked_fallback"] + c["asked_faq"]
            saved = c["saved_fallback"] + c["saved_faq"]
            shuffles = [score(outcome(r, floor, margin, offerable)) for r in by_seed.values()]
            scores[(floor, margin)] = score(c)
            print(f" {floor:.2f}  {margin:.2f}   {asked:4d} ({c['asked_fallback']:3d} + {c['asked_faq']:3d})"
                  f"   {saved:4d} ({c['saved_fallback']:3d} + {c['saved_faq']:3d})"
                  f"   {c['extra']:4d}   {c['neither']:4d}     {c['not_offered']:4d}"
                  f"        {score(c):+4d} ({' '.join(f'{n:+d}' for n in shuffles)})")
    best = max(scores, key=lambda key: (scores[key], key[0]))  # a tie goes to the higher floor
    print(f"best: floor {best[0]}, margin {best[1]} (score {scores[best]:+d}); "
          f"bot/clarify.py has {MIN_CONFIDENCE}/{MAX_MARGIN}")
    chosen = outcome(rows, MIN_CONFIDENCE, MAX_MARGIN, offerable)
    never = sorted(
        ((k.split(":", 1)[1], n) for k, n in chosen.items() if k.startswith("not_offered:")),
        key=lambda item: -item[1],
    )
    print(f"at the chosen {MIN_CONFIDENCE}/{MAX_MARGIN}, close pairs not asked about, by the "
          f"label never offered: " + ", ".join(f"{label} {n}" for label, n in never))
    return 0


if __name__ == "__main__":
    sys.exit(main())
