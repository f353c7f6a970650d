"""Every code the desk can show has its Chinese wording, and no English leaks to staff."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.gateway import create_app
from bot.gateway.desk import (
    accounts,
    complaints,
    knowledge,
    knowledge_forms,
    knowledge_review,
    learning,
    lockouts,
    queues,
    releases,
    second_factor,
    sms_outbox,
)
from bot.nlu.training_data import known_labels
from bot.records import complaint_lifecycle, handovers, knowledge_editing, staff
from bot.records import lockouts as lockout_records
from bot.records import learning as learning_records
from bot.records import complaints as complaint_records
from bot.records import releases as release_records
from bot.records import sms_outbox as sms_records
from bot.records.base import Channel
from bot.records.service_models import ComplaintStatus
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[4]
TEMPLATES = ROOT / "bot" / "gateway" / "templates" / "desk"
STATIC = ROOT / "bot" / "gateway" / "static" / "desk"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def labels():  # type: ignore[no-untyped-def]
    app = create_app({"HOTLINE_SETTINGS": Settings(env="test")})
    return app.jinja_env.get_template("desk/_labels.html").module


def _codes_in(module, pattern: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(re.findall(pattern, Path(module.__file__).read_text(encoding="utf-8")))


def test_every_error_code_has_a_message(labels) -> None:  # type: ignore[no-untyped-def]
    raised = set()
    for module in (complaint_records, complaint_lifecycle, handovers, staff, learning_records,
                   knowledge_editing, knowledge, knowledge_review, knowledge_forms,
                   release_records, lockout_records, sms_records):
        raised |= _codes_in(module, r'(?:Error|abort|add)\(\s*"([a-z_]+)"')
    assert {"transition_not_allowed", "supervisor_only", "complaint_not_found", "account_not_found",
            "label_invalid", "miss_not_found", "knowledge_problems", "knowledge_key_taken",
            "knowledge_source_line_invalid", "knowledge_effective_from_required",
            "release_running", "release_not_rollbackable", "release_not_found"} <= raised
    for field in ("reply", "note", "reopen_reason", "display_name"):
        raised |= {f"{field}_required", f"{field}_too_long"}
    raised.add("callback_result_too_long")
    raised |= {code for code, _status in accounts.LOGIN_REFUSALS.values()}
    raised |= {"session_expired", "session_ended"}
    raised |= _codes_in(second_factor, r'error="([a-z_]+)"')
    assert {"code_format", "code_wrong"} <= raised
    missing = sorted(code for code in raised if code not in labels.MESSAGES)
    assert missing == []


def test_every_notice_has_a_message(labels) -> None:  # type: ignore[no-untyped-def]
    codes = set()
    for module in (accounts, complaints, queues, learning, knowledge, knowledge_review,
                   releases, lockouts, second_factor, sms_outbox):
        codes |= _codes_in(module, r'notify\(\s*"([a-z_]+)"')
        codes |= _codes_in(module, r'"(knowledge_[a-z]+ed)"')
        codes |= _codes_in(module, r'"(ok_[a-z]+)"')
    codes |= {f"staff_{a}_done" for a in ("unlock", "disable", "enable", "role", "totp")}
    codes |= {f"handover_{a}_done" for a in ("take", "done")}
    codes |= {f"learning_tracker_{problem}" for problem in ("absent", "unreadable")}
    assert {"ok_closed", "logged_out", "account_unlock_done"} <= codes
    assert sorted(code for code in codes if code not in labels.MESSAGES) == []


def test_messages_are_chinese_and_placeholders_are_known(labels) -> None:  # type: ignore[no-untyped-def]
    for code, text in labels.MESSAGES.items():
        assert CHINESE.search(text), code
        for name in re.findall(r"%\((\w+)\)s", text):
            assert name in ("limit", "length", "owner", "added", "minimum", "line", "day",
                            "count"), (code, name)


def test_status_and_channel_labels_cover_every_code(labels) -> None:  # type: ignore[no-untyped-def]
    assert set(labels.STATUSES) == {s.value for s in ComplaintStatus}
    assert set(labels.CHANNELS) == {c.value for c in Channel}
    assert len(labels.CSV_HEADERS) == 14


def test_no_resource_comes_from_outside() -> None:
    for path in [*TEMPLATES.glob("*.html"), *STATIC.glob("*")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "<style" not in text and " style=" not in text, path  # CSP: style-src 'self'
        if path.suffix == ".html":
            assert not re.search(r"<script>|on(click|submit|load)=", text), path


def test_python_code_holds_no_chinese_reply_text() -> None:
    """Chinese lives in the templates; the desk's Python only names codes.

    Docstrings may mention the Chinese terms they explain.
    """
    for path in (ROOT / "bot" / "gateway" / "desk").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        offenders = [
            node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and CHINESE.search(node.value)
        ]
        assert offenders == [], path


def test_every_training_label_and_miss_kind_has_chinese_words(labels) -> None:  # type: ignore[no-untyped-def]
    from bot.records.learning_models import MissKind

    assert set(labels.MISS_KINDS) == {kind.value for kind in MissKind}
    for label in known_labels():
        intent, _, topic = label.partition("/")
        words = {"": labels.INTENTS, "faq": labels.FAQ_TOPICS,
                 "out_of_scope": labels.OUT_OF_SCOPE_TOPICS}[intent if topic else ""]
        assert (topic or label) in words, label
        assert CHINESE.search(str(labels.label_name(label))), label
    assert {"misses_harvested", "miss_labelled"} <= set(labels.AUDIT_ACTIONS)


def test_every_knowledge_audit_action_and_status_has_chinese_words(labels) -> None:  # type: ignore[no-untyped-def]
    from bot.records.knowledge_models import TopicStatus, VersionStatus

    actions = _codes_in(knowledge_editing, r'audit\(session, \w+, "([a-z_]+)"')
    assert {"knowledge_draft", "knowledge_approve", "knowledge_topic_add"} <= actions
    assert sorted(action for action in actions if action not in labels.AUDIT_ACTIONS) == []
    assert {"policy_topic", "policy_version"} <= set(labels.AUDIT_TARGETS)
    assert set(labels.TOPIC_STATUSES) == {status.value for status in TopicStatus}
    assert set(labels.VERSION_STATUSES) == {status.value for status in VersionStatus}


def test_every_complaint_event_has_chinese_words(labels) -> None:  # type: ignore[no-untyped-def]
    from bot.records import retention_tables

    actions = _codes_in(complaint_lifecycle, r'_event\(session, \w+, actor, "([a-z_]+)"')
    assert {"taken", "closed", "contact_revealed"} <= actions
    actions |= {retention_tables.MASKED_EVENT}
    assert sorted(action for action in actions if action not in labels.EVENT_ACTIONS) == []


def test_every_staff_audit_action_has_chinese_words(labels) -> None:  # type: ignore[no-untyped-def]
    from bot.records import second_factor as second_factor_records
    from bot.records import staff_sessions

    actions = set()
    for module in (staff, staff_sessions, second_factor_records):
        actions |= _codes_in(module, r'audit\(\s*session, \w+, "([a-z_]+)"')
    assert {"staff_totp_enrolled", "staff_totp_reset", "staff_locked", "login"} <= actions
    assert sorted(action for action in actions if action not in labels.AUDIT_ACTIONS) == []
