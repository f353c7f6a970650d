"""Fails when `rasa data validate` reported a problem.

Every warning counts except the ones listed below, each with its reason.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

# Intents that only the gateway or the chat client sends after the secure step:
# they have no NLU examples on purpose (a person must never trigger them).
ACCEPTED = [
    # Rasa adds each retrieval intent once for domain/core.yml and again for its
    # NLU topics (faq/*) or responses (utter_out_of_scope/* in
    # domain/out_of_scope.yml) when it merges the directory.
    re.compile(
        r"The following duplicated intents have been found across multiple domain files: "
        r"(faq|out_of_scope)(, (faq|out_of_scope))*$"
    ),
    # The policy answers live in the knowledge base in the records and
    # action_answer_faq says them; Rasa still lists its retrieval action.
    re.compile(r"Action 'utter_faq' is listed as a response action in the domain file, but there is no matching response defined"),
    re.compile(r"The intent '(authenticated|authentication_failed)' is listed in the domain file, but is not found in the NLU training data"),
    # Entities filled only by those two intents' payloads.
    re.compile(r"The entity '(auth_token|reason|remaining)' is not used in any"),
]


def responses_uttered_by_actions() -> tuple[set[str], set[str]]:
    """Response names the custom actions utter (exact names and f-string prefixes)."""
    exact, prefixes = set(), set()
    for path in Path("actions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        exact.update(re.findall(r'"(utter_[a-z0-9_]+)"', source))
        prefixes.update(re.findall(r'f"(utter_[a-z0-9_]+)\{', source))
    return exact, prefixes


def form_questions() -> set[str]:
    """``utter_ask_<slot>`` of every slot a form requests: forms utter these themselves."""
    import yaml

    names = set()
    for path in Path("domain").glob("*.yml"):
        forms = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("forms") or {}
        for form in forms.values():
            names.update(f"utter_ask_{slot}" for slot in (form or {}).get("required_slots", []))
    return names


def main(log_path: str, status: str) -> int:
    exact, prefixes = responses_uttered_by_actions()
    exact |= form_questions()
    lines = Path(log_path).read_text(encoding="utf-8", errors="replace").splitlines()
    problems = []
    for line in lines:
        # Rasa's own findings; library deprecation notices (SQLAlchemy, pkg_resources) are not.
        if not re.search(r"rasa/shared/utils/io\.py:\d+: UserWarning|\bERROR\b|InvalidDomain|YamlValidationException", line):
            continue
        if any(p.search(line) for p in ACCEPTED):
            continue
        unused = re.search(r"The utterance '(utter_[^']+)' is not used in any story or rule", line)
        if unused and (
            unused.group(1) in exact or any(unused.group(1).startswith(p) for p in prefixes)
        ):
            continue  # uttered by a custom action, not by a rule
        problems.append(line.strip())
    if status != "0":
        problems.append(f"rasa data validate exited with status {status}")
    if problems:
        print("rasa data validate reported problems:")
        for problem in problems:
            print("  - " + problem)
        return 1
    print("rasa data validate: no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
