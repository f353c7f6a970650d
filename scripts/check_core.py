"""Fails when any test story was not followed exactly; prints the failed ones."""
from __future__ import annotations

import sys
from pathlib import Path


def main(results: str, status: str) -> int:
    failed = Path(results) / "failed_test_stories.yml"
    text = failed.read_text(encoding="utf-8") if failed.exists() else ""
    stories = [line for line in text.splitlines() if line.strip().startswith("- story:")]
    if status != "0" or stories:
        print(f"test stories: {len(stories)} failed (exit status {status})")
        print(text[:6000])
        return 1
    print("test stories: all conversation paths predicted correctly")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
