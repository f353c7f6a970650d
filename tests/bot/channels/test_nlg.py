"""The assistant's NLG (bot.channels.nlg) in Rasa's environment: no response renders an empty slot.

For every response of the trained domain that fills a placeholder, on the web
chat and the voice channel: with every value given it renders them (from slots
or from an action's values); with any one of them missing or None it raises
:class:`EmptySlotRefused` and marks the turn failed (:mod:`bot.channels.turn_guard`).
Rasa's own templated generator, given the same, renders "None": the check this
generator adds. Run by Rasa's Python (this file is also its script).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
# endpoints.production.yml expands these when read (values unused here)
PRODUCTION_VARIABLES = ("ACTION_ENDPOINT_URL", "ACTION_SERVER_SECRET", "TRACKER_DB_HOST",
                        "TRACKER_DB_PORT", "TRACKER_DB_NAME", "TRACKER_DB_USER",
                        "TRACKER_DB_PASSWORD", "REDIS_HOST", "REDIS_PORT", "REDIS_LOCK_DB",
                        "REDIS_PASSWORD")


def _check_in_rasa() -> dict:  # pragma: no cover - runs in Rasa's environment
    import asyncio

    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config
    from rasa.core.nlg import NaturalLanguageGenerator

    from bot.channels.nlg import EmptySlotRefused, SlotCheckingGenerator
    from bot.channels.placeholders import placeholders
    from bot.channels.turn_guard import watched_turn

    domain = Domain.load(str(ROOT / "domain"))
    problems: list[str] = []
    refused = 0
    loaded = {name: type(NaturalLanguageGenerator.create(read_endpoint_config(
        str(ROOT / name), "nlg"), domain)).__name__
        for name in ("endpoints.yml", "endpoints.production.yml")}
    nlg = SlotCheckingGenerator(domain=domain)
    plain = TemplatedNaturalLanguageGenerator(domain.responses)
    plain_renders_none = False

    def shows_empty(out: dict | None) -> bool:
        strings = [out.get("text") or ""] if out else [""]
        strings += [str(v) for v in ((out or {}).get("custom") or {}).values()]
        return not out or any("None" in text or "{" in text for text in strings)

    for name, variants in domain.responses.items():
        names = set().union(*(placeholders(v) for v in variants))
        if not names:
            continue
        for channel in ("webchat", "voice"):
            filled = {slot: "值" for slot in names}
            for _ in range(4):  # variants are picked at random
                for slots, kwargs in ((filled, {}), ({}, filled)):  # from slots, from an action
                    out = nlg.generate_from_slots(name, slots, channel, **kwargs)
                    if shows_empty(out):
                        problems.append(f"{name}/{channel}: all given, got {out}")
            for left_out in sorted(names):
                for empty in (None, "", "None"):
                    with watched_turn() as faults:
                        try:
                            out = nlg.generate_from_slots(name, {**filled, left_out: empty},
                                                          channel)
                        except EmptySlotRefused as refusal:
                            refused += 1
                            if left_out not in refusal.names or faults.reasons != ["empty_slot"]:
                                problems.append(f"{name}/{channel}: {refusal.names} {faults}")
                            continue
                    # Only a variant written for the missing value may answer
                    # (e.g. utter_auth_mismatch without a count of attempts left).
                    if shows_empty(out):
                        problems.append(f"{name}/{channel}: {left_out}={empty!r} gave {out}")
                rendered = plain.generate_from_slots(name, {**filled, left_out: None}, channel)
                plain_renders_none |= "None" in json.dumps(rendered, ensure_ascii=False)
    asyncio.run(asyncio.sleep(0))
    return {"refused": refused, "problems": problems, "loaded": loaded,
            "plain_renders_none": plain_renders_none}


def test_every_response_refuses_an_empty_slot_in_rasa() -> None:
    run = subprocess.run([str(RASA_PYTHON), __file__], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                                           "TF_CPP_MIN_LOG_LEVEL": "3",
                                           "RASA_TELEMETRY_ENABLED": "false",
                                           **{name: "1" for name in PRODUCTION_VARIABLES}})
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["problems"] == []
    assert result["refused"] > 400  # every response, channel, placeholder and empty value
    assert result["loaded"] == {"endpoints.yml": "SlotCheckingGenerator",
                                "endpoints.production.yml": "SlotCheckingGenerator"}
    assert result["plain_renders_none"]  # what Rasa's own generator would have said


if __name__ == "__main__":  # pragma: no cover - Rasa's Python runs this
    sys.path.insert(0, str(ROOT))
    print(json.dumps(_check_in_rasa(), ensure_ascii=False))
