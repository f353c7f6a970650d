"""Prints intent accuracy on the held-out set and fails below the threshold."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--min-accuracy", type=float, required=True)
    args = parser.parse_args(argv)
    report_path = Path(args.results) / "intent_report.json"
    if not report_path.exists():
        print(f"no intent report at {report_path}: rasa test nlu did not finish")
        return 1
    report = json.loads(report_path.read_text(encoding="utf-8"))
    accuracy = report["accuracy"]
    total = report["macro avg"]["support"]
    print(f"intent accuracy on the held-out set: {accuracy:.4f} over {total} utterances "
          f"(required: {args.min_accuracy:.2f})")
    weak = sorted(
        (name, values["f1-score"], values["support"])
        for name, values in report.items()
        if isinstance(values, dict) and "f1-score" in values and name not in ("macro avg", "weighted avg", "micro avg")
    )
    for name, f1, support in weak:
        if f1 < 0.9:
            print(f"  weaker intent: {name} f1={f1:.2f} (n={support})")
    selector = Path(args.results) / "response_selection_report.json"
    if selector.exists():
        sel = json.loads(selector.read_text(encoding="utf-8"))
        print(f"FAQ answer selection accuracy: {sel.get('accuracy', 0):.4f}")
    errors = Path(args.results) / "intent_errors.json"
    if errors.exists() and accuracy < args.min_accuracy:
        for item in json.loads(errors.read_text(encoding="utf-8"))[:30]:
            print(f"  {item['text']!r}: expected {item['intent']}, got {item['intent_prediction']['name']}")
    return 0 if accuracy >= args.min_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
