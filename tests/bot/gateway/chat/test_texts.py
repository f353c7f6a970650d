"""The gateway's own chat texts (messages.yml): complete, with the right placeholders."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.flows import AgentHours
from bot.gateway.chat.texts import MESSAGES_FILE, REQUIRED, TextsError, load_texts


def test_shipped_texts_load_and_are_chinese():
    texts = load_texts()
    assert set(texts.texts) == set(REQUIRED)
    for key in (
        "errors.assistant_unavailable",
        "errors.verify_unavailable",
        "handover.after_hours",
    ):
        assert "96319" in texts.texts[key], key
    assert "500" in texts.error("too_long", max_chars=500)
    assert "30" in texts.error("rate_limited", retry_after=30)


def test_agent_hours_read_like_a_notice_board():
    hours = AgentHours(
        timezone=ZoneInfo("Asia/Shanghai"),
        periods=((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30))),
        transfer_target="sip:x@y",
    )
    assert load_texts().agent_hours(hours) == "工作日9:00—12:00、13:30—17:30"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "messages.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (lambda t: t.replace("welcome:", "welcom:"), "'welcome'"),
        (lambda t: t.replace("{max_chars}", "{max}"), "'errors.too_long'"),
        (lambda t: t.replace("  empty: 请先输入您想咨询的问题。", "  empty: ''"), "'errors.empty'"),
        (lambda t: t + "\n  - [", "not valid YAML"),
        (lambda t: "- just a list", "top level"),
    ],
    ids=["missing-key", "wrong-placeholder", "empty-text", "broken-yaml", "not-a-mapping"],
)
def test_broken_texts_stop_the_gateway_naming_file_and_key(tmp_path, change, fault):
    path = _write(tmp_path, change(MESSAGES_FILE.read_text(encoding="utf-8")))
    with pytest.raises(TextsError) as error:
        load_texts(path)
    assert str(path) in str(error.value) and fault in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(TextsError, match="file not found"):
        load_texts(tmp_path / "nope.yml")
