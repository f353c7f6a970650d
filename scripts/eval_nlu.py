"""Measures the trained model on a labelled held-out set, with the fallback in place.

Runs in the Rasa environment (``.venv/rasa/bin/python scripts/eval_nlu.py``).
Unlike ``rasa test nlu``, which undoes the FallbackClassifier, every utterance
goes through the whole pipeline as a live message does, so the thresholds are
measured too. The label of a prediction is the intent, or ``faq/<key>`` when the
intent is the ``faq`` retrieval intent (the key the ResponseSelector chose).

The set is YAML: ``examples: [{text, label, register}, …]`` (see
``tests/nlu/heldout.yml``). Printed: accuracy overall (intent + FAQ key), per
register and per label, complaint recall, out-of-scope rejection (predicted
``out_of_scope`` or ``nlu_fallback``, never a fund answer), the fallback share
and the most frequent confusion pairs. With ``--gate`` options it exits 1 when
a figure is below its floor. ``--json`` writes every prediction for later study.

It also shows where the assistant would ask a clarifying question instead
(``bot.clarify``: a ``faq`` or ``nlu_fallback`` turn whose two best labels are
close, as on a conversation's first turn): how often, how often the right label
is one of the two options, and the share of utterances answered right or
offered the right option. These figures change no other figure and no gate.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import yaml

FALLBACK = "nlu_fallback"
REJECTIONS = {"out_of_scope", FALLBACK}
CLARIFIED_INTENTS = {"faq", FALLBACK}  # the FAQ and fallback actions ask (actions/clarify.py)


def load_set(path: Path) -> list[dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list) or not examples:
        raise SystemExit(f"{path}: expected a mapping with a non-empty 'examples' list")
    for number, item in enumerate(examples, 1):
        if not all(isinstance(item.get(k), str) and item[k] for k in ("text", "label", "register")):
            raise SystemExit(f"{path}: example {number} needs text, label and register")
    return examples


def label_of(parse: dict[str, Any]) -> str:
    intent = (parse.get("intent") or {}).get("name") or FALLBACK
    if intent == "faq":
        selected = ((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        key = selected.get("intent_response_key")
        return key or "faq/?"
    return intent


def clarify_pair(parse: dict[str, Any]) -> tuple[str, str] | None:
    """The two options of the clarifying question this parse would get, or None."""
    from bot.clarify import close_pair, load_topics

    intent = (parse.get("intent") or {}).get("name") or FALLBACK
    if intent not in CLARIFIED_INTENTS or parse.get("unusable_input"):
        return None
    return close_pair(parse.get("label_ranking"), load_topics().offers)


def is_correct(expected: str, predicted: str) -> bool:
    if expected == "out_of_scope":
        return predicted in REJECTIONS
    return expected == predicted


async def predict(model: str, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.ERROR)
    configure_structlog(logging.ERROR)

    agent = Agent.load(model)
    return [await agent.parse_message(text) for text in texts]


def share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def report(
    examples: list[dict[str, str]],
    predicted: list[str],
    pairs: list[tuple[str, str] | None] | None = None,
) -> dict[str, Any]:
    rows = [
        {**example, "predicted": label, "correct": is_correct(example["label"], label),
         "clarify": list(pair) if pair else None,
         "offered": bool(pair) and any(is_correct(example["label"], option) for option in pair)}
        for example, label, pair in zip(examples, predicted, pairs or [None] * len(examples))
    ]
    by_register: dict[str, list[bool]] = collections.defaultdict(list)
    by_label: dict[str, list[bool]] = collections.defaultdict(list)
    for row in rows:
        by_register[row["register"]].append(row["correct"])
        by_label[row["label"]].append(row["correct"])
    confusions = collections.Counter(
        (row["label"], row["predicted"]) for row in rows if not row["correct"]
    )
    faq_rows = [row for row in rows if row["label"].startswith("faq/")]
    oos = by_label.get("out_of_scope", [])
    asked = [row for row in rows if row["clarify"]]
    return {
        "total": len(rows),
        "accuracy": share(sum(r["correct"] for r in rows), len(rows)),
        "strict_accuracy": share(sum(r["label"] == r["predicted"] for r in rows), len(rows)),
        "faq_key_accuracy": share(sum(r["correct"] for r in faq_rows), len(faq_rows)),
        "complaint_recall": share(sum(by_label.get("complain", [])), len(by_label.get("complain", []))),
        "oos_rejection": share(sum(oos), len(oos)),
        "counts": {"faq": len(faq_rows), "complain": len(by_label.get("complain", [])),
                   "out_of_scope": len(oos)},
        "fallback_share": share(sum(r["predicted"] == FALLBACK for r in rows), len(rows)),
        "fund_answer_to_oos": sum(
            1 for r in rows if r["label"] == "out_of_scope" and r["predicted"] not in REJECTIONS
        ),
        "by_register": {k: (share(sum(v), len(v)), len(v)) for k, v in sorted(by_register.items())},
        "by_label": {k: (share(sum(v), len(v)), len(v)) for k, v in sorted(by_label.items())},
        "confusions": confusions.most_common(),
        "clarify_asked": len(asked),
        "clarify_share": share(len(asked), len(rows)),
        "clarify_right_offered": sum(r["offered"] for r in asked),
        "clarify_right_already": sum(r["correct"] for r in asked),
        "clarify_on_out_of_scope": sum(r["label"] == "out_of_scope" for r in asked),
        "right_or_offered": share(
            sum(r["offered"] if r["clarify"] else r["correct"] for r in rows), len(rows)
        ),
        "rows": rows,
    }


def print_report(name: str, result: dict[str, Any], top: int) -> None:
    print(f"held-out set {name}: {result['total']} utterances")
    print(f"  intent + FAQ key accuracy  {result['accuracy']:.4f}"
          f"   (strict, fallback on out-of-scope counted wrong: {result['strict_accuracy']:.4f})")
    print(f"  FAQ key accuracy           {result['faq_key_accuracy']:.4f}")
    print(f"  complaint recall           {result['complaint_recall']:.4f}")
    print(f"  out-of-scope rejection     {result['oos_rejection']:.4f}"
          f"   (fund answers given to out-of-scope: {result['fund_answer_to_oos']})")
    print(f"  fallback share             {result['fallback_share']:.4f}")
    print(f"  clarifying question        {result['clarify_share']:.4f}"
          f"   (n={result['clarify_asked']}: right option offered {result['clarify_right_offered']},"
          f" answer was right already {result['clarify_right_already']},"
          f" out-of-scope {result['clarify_on_out_of_scope']})")
    print(f"  right, or right option     {result['right_or_offered']:.4f}"
          f"   (answered right, or the clarifying question offers the right label)")
    print("  by register:")
    for register, (value, count) in result["by_register"].items():
        print(f"    {register:<12} {value:.4f}  (n={count})")
    weak = [(k, v, n) for k, (v, n) in result["by_label"].items() if v < 0.9]
    if weak:
        print("  labels under 0.90:")
        for label, value, count in weak:
            print(f"    {label:<28} {value:.4f}  (n={count})")
    if result["confusions"]:
        print(f"  top confusion pairs (expected -> predicted):")
        for (expected, predicted), count in result["confusions"][:top]:
            print(f"    {count:>3}  {expected} -> {predicted}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--json", type=Path, help="write every prediction here")
    parser.add_argument("--min-accuracy", type=float, default=0.0)
    parser.add_argument("--min-faq-accuracy", type=float, default=0.0)
    parser.add_argument("--min-complaint-recall", type=float, default=0.0)
    parser.add_argument("--min-oos-rejection", type=float, default=0.0)
    parser.add_argument("--min-asr-accuracy", type=float, default=0.0)
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    all_sets = [(path, load_set(path)) for path in args.sets]
    texts = [example["text"] for _, examples in all_sets for example in examples]
    parses = asyncio.run(predict(args.model, texts))
    labels = [label_of(parse) for parse in parses]
    pairs = [clarify_pair(parse) for parse in parses]

    failures: list[str] = []
    dump: dict[str, Any] = {}
    offset = 0
    for path, examples in all_sets:
        result = report(examples, labels[offset:offset + len(examples)],
                        pairs[offset:offset + len(examples)])
        offset += len(examples)
        print_report(path.name, result, args.top)
        dump[path.name] = result
        asr, asr_n = result["by_register"].get("asr", (1.0, 0))
        counts = result["counts"]
        for name, value, floor, n in (
            ("intent + FAQ key accuracy", result["accuracy"], args.min_accuracy, result["total"]),
            ("FAQ key accuracy", result["faq_key_accuracy"], args.min_faq_accuracy, counts["faq"]),
            ("complaint recall", result["complaint_recall"], args.min_complaint_recall,
             counts["complain"]),
            ("out-of-scope rejection", result["oos_rejection"], args.min_oos_rejection,
             counts["out_of_scope"]),
            ("speech-recognition text accuracy", asr, args.min_asr_accuracy, asr_n),
        ):
            if n and value < floor:  # a set without such utterances is not judged on them
                failures.append(f"{path.name}: {name} {value:.4f} < {floor:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")
    for failure in failures:
        print(f"!! {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
