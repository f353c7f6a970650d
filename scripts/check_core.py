"""Fails when any test story was not followed exactly; prints the figures and the failures."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(results: str, status: str) -> int:
    report_path = Path(results) / "story_report.json"
    if not report_path.exists():
        print(f"no story report at {report_path}: rasa test core did not finish (exit {status})")
        return 1
    conversations = json.loads(report_path.read_text(encoding="utf-8"))["conversation_accuracy"]
    print(
        f"test stories: {conversations['correct']} of {conversations['total']} conversations "
        f"predicted exactly ({conversations['with_warnings']} with warnings)"
    )
    failed = Path(results) / "failed_test_stories.yml"
    if status != "0" or conversations["correct"] != conversations["total"] or conversations["total"] == 0:
        print(failed.read_text(encoding="utf-8")[:6000] if failed.exists() else "")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
