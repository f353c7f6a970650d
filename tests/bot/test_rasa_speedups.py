"""Rasa's check of the action server's answers: the same verdicts, the schema checked once.

Run in the Rasa environment (this file is also the script it runs, like
``tests/bot/test_rasa_tracker_store.py``): importing :mod:`bot.channels`, as
Rasa does to load the gateway's channels, must install the speed-up; then
Rasa's ``RemoteAction`` accepts a valid answer, refuses invalid ones with the
very error and message Rasa's own method gives, and checks the schema against
its meta-schema once, not on every answer.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
VALID = {"events": [{"event": "slot", "name": "complaint_place", "value": "后子门大厅"}],
         "responses": [{"response": "utter_ask_complaint_phone"}]}
INVALID = [{"events": "not a list"}, {"events": [{"no_event_name": 1}]},
           {"responses": "请稍候", "events": []}]


def test_answers_are_judged_as_before_and_the_schema_checked_once() -> None:
    result = subprocess.run(
        [str(RASA_PYTHON), __file__],
        env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
             "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["installed"] is True
    assert found["valid_passes"] is True
    assert found["invalid"] == found["invalid_by_rasa"]  # same refusals, same messages
    assert all(message for message in found["invalid"])
    assert found["schema_checks"] == 1  # 25 answers; Rasa alone checks the schema 25 times


def _run_in_rasa() -> dict:
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    rasa_method = RemoteAction._validate_action_result
    action = RemoteAction("validate_complaint_form", EndpointConfig("http://127.0.0.1:1/webhook"))

    def refusals(validate) -> list[str | None]:
        messages = []
        for answer in INVALID:
            try:
                validate(action, answer)
                messages.append(None)
            except ValidationError as error:
                messages.append(error.message)
        return messages

    invalid_by_rasa = refusals(rasa_method)

    import bot.channels  # noqa: F401 - what Rasa imports for the gateway's channels

    installed = RemoteAction._validate_action_result is not rasa_method
    meta = validators.validator_for(action.action_response_format_spec())
    checks = []
    original_check = meta.check_schema.__func__
    meta.check_schema = classmethod(lambda cls, schema, **kw: (checks.append(1),
                                                               original_check(cls, schema, **kw))[1])
    valid_passes = all(action._validate_action_result(VALID) for _ in range(25))
    return {"installed": installed, "valid_passes": valid_passes, "schema_checks": len(checks),
            "invalid": refusals(RemoteAction._validate_action_result),
            "invalid_by_rasa": invalid_by_rasa}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(json.dumps(_run_in_rasa(), ensure_ascii=False))
