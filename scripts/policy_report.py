"""Lists every FAQ answer's policy sources, marking those that await the centre's confirmation.

    .venv/app/bin/python scripts/policy_report.py          (or: make policy-report)
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

FAQ = Path(__file__).resolve().parent.parent / "domain" / "faq.yml"


def main() -> int:
    responses = yaml.safe_load(FAQ.read_text(encoding="utf-8"))["responses"]
    pending = 0
    for name, variants in responses.items():
        print(name)
        for variant in variants:
            for source in (variant.get("metadata") or {}).get("policy", []):
                mark = "  confirmed" if source.get("confirmed") else "! to confirm"
                pending += not source.get("confirmed")
                period = source.get("effective") or "-"
                if source.get("until"):
                    period += f" .. {source['until']}"
                print(f"  {mark:13} [{source.get('grade')}] {period:24} {source.get('source')}")
    print(f"\n{pending} source(s) await confirmation by the centre before go-live.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
