"""Fails when any test story was not followed exactly; prints the figures and the failures.

Usage: check_core.py RESULTS_DIR EXIT_STATUS [LOG]. With
--fail-on-prediction-errors, Rasa stops at the first wrong prediction and writes
no report: the failed story (with "# predicted: ..." on the wrong step) is then
only in its log, and is printed from there.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
FAILURE_MARKER = "WrongPredictionException"


def failure_from_log(log: str | None) -> str:
    """The failed story Rasa put in its exception message, or "" if there is none."""
    if not log or not Path(log).exists():
        return ""
    text = ANSI_ESCAPE.sub("", Path(log).read_text(encoding="utf-8", errors="replace"))
    start = text.find(FAILURE_MARKER)
    return text[start:start + 6000] if start >= 0 else ""


def main(results: str, status: str, log: str | None = None) -> int:
    report_path = Path(results) / "story_report.json"
    if not report_path.exists():
        print(f"no story report at {report_path}: rasa test core did not finish (exit {status})")
        print(failure_from_log(log) or (f"see {log}" if log else ""))
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
    sys.exit(main(*sys.argv[1:4]))
