"""JSON logs without personal data (bot/logs.py): the formatter, the masking filter,
the request id and conversation reference, gunicorn's access records, and the
setup ``create_app`` does when nobody configured logging before it."""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import (
    AccessFormatter,
    JsonFormatter,
    RedactFilter,
    RequestFilter,
    conversation_reference,
    gunicorn_logconfig_dict,
    set_conversation_key,
)

ROOT = Path(__file__).resolve().parents[2]
ID_NUMBER, PHONE, ACCOUNT, CARD, PASSWORD = (
    "510104198503150017", "13812345678", "102030405060", "6217003810000012345", "135790")
SECRETS = (ID_NUMBER, PHONE, ACCOUNT, CARD, PASSWORD, "8503150017", "12345678")


def _emit(record: logging.LogRecord) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactFilter())
    handler.addFilter(RequestFilter())
    handler.handle(record)
    line = stream.getvalue()
    assert line.count("\n") == 1  # one object per line, even with a traceback
    return json.loads(line)


def _record(msg: str, *args: object, exc_info=None) -> logging.LogRecord:  # type: ignore[no-untyped-def]
    return logging.LogRecord("bot.gateway.voice", logging.WARNING, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize(("msg", "args"), [
    ("caller said 我的身份证号是%s，电话%s", (ID_NUMBER, PHONE)),
    ("account %s card %s", (ACCOUNT, CARD)),
    ("verification with 查询密码 %s failed", (PASSWORD,)),
    ("password=%s", (PASSWORD,)),
    ("%(id)s and %(phone)s", ({"id": ID_NUMBER, "phone": PHONE},)),
    (f"formatted before logging: {ID_NUMBER} {PHONE} 幺三八一二三四五六七八", ()),
])
def test_a_log_line_is_json_and_carries_no_personal_number(msg: str, args: tuple) -> None:
    entry = _emit(_record(msg, *args))
    assert set(entry) >= {"time", "level", "logger", "message"}
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.gateway.voice"
    assert entry["time"].endswith("Z")
    assert not any(secret in json.dumps(entry, ensure_ascii=False) for secret in SECRETS)


def test_an_exception_is_masked_too() -> None:
    try:
        raise ValueError(f"no depositor with ID {ID_NUMBER} and phone {PHONE}")
    except ValueError:
        entry = _emit(_record("lookup failed", exc_info=sys.exc_info()))
    assert "ValueError" in entry["exception"] and "Traceback" in entry["exception"]
    assert ID_NUMBER not in entry["exception"] and PHONE not in entry["exception"]


def test_the_centers_numbers_and_chinese_stay_readable() -> None:
    entry = _emit(_record("转人工：监督电话86279298，热线96319"))
    assert entry["message"] == "转人工：监督电话86279298，热线96319"


def test_inside_a_request_the_line_has_its_id_and_a_keyed_conversation_reference() -> None:
    from flask import Flask, g

    from bot.logs import bind_conversation

    set_conversation_key("a-key-for-the-test")
    conversation = "c0ffee" * 5
    app = Flask(__name__)
    with app.test_request_context("/"):
        g.request_id = "rid-0123456789"
        bind_conversation(conversation)
        entry = _emit(_record("turn answered"))
    assert entry["request_id"] == "rid-0123456789"
    assert entry["conversation"] == conversation_reference(conversation)
    assert len(entry["conversation"]) == 12 and entry["conversation"] not in conversation
    set_conversation_key("another-key")
    assert conversation_reference(conversation) != entry["conversation"]  # keyed


def _access(atoms: dict, style: str = "json") -> str:
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(r)s", (atoms,), None)
    return AccessFormatter(style).format(record)


ATOMS = {
    "m": "GET", "U": "/desk/staff/zhang.wei/unlock", "q": f"phone={PHONE}&id={ID_NUMBER}",
    "r": f"GET /chat?phone={PHONE} HTTP/1.1", "s": "200", "M": 12, "B": 345,
    "h": "203.0.113.9", "f": f"https://www.example.gov.cn/?phone={PHONE}",
    "a": "Mozilla/5.0", "{x-request-id}o": "rid-0123456789", "{cookie}i": "hotline_chat=abc",
    "{authorization}i": "Bearer metrics-token",
}


@pytest.mark.parametrize("style", ["json", "text"])
def test_an_access_line_keeps_the_path_only(style: str) -> None:
    line = _access(ATOMS, style)
    for kept in ("GET", "/desk/staff/…/unlock", "200", "rid-0123456789"):
        assert kept in line
    for dropped in (PHONE, ID_NUMBER, "zhang.wei", "203.0.113.9", "example.gov.cn",
                    "hotline_chat", "metrics-token", "Mozilla"):
        assert dropped not in line
    if style == "json":
        entry = json.loads(line)
        assert entry["status"] == 200 and entry["duration_ms"] == 12 and entry["path"]


def test_the_gunicorn_logging_config_is_accepted_by_dictconfig() -> None:
    """Run in a child: dictConfig replaces the process's logging."""
    code = (
        "import logging, logging.config, json\n"
        "from bot.logs import gunicorn_logconfig_dict\n"
        "logging.config.dictConfig(gunicorn_logconfig_dict('json', 'INFO'))\n"
        f"logging.getLogger('bot.gateway').warning('phone %s', '{PHONE}')\n"
        "logging.getLogger('gunicorn.error').info('Booting worker')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [entry["logger"] for entry in lines] == ["bot.gateway", "gunicorn.error"]
    assert lines[0]["message"] == "phone 138****5678"
    assert gunicorn_logconfig_dict("text")["handlers"]["console"]["formatter"] == "text"


@pytest.mark.parametrize(("env", "json_expected"), [
    ({"HOTLINE_ENV": "production"}, True), ({"LOG_FORMAT": "json"}, True), ({}, False)])
def test_create_app_configures_logging_when_nobody_did(env: dict, json_expected: bool) -> None:
    code = (
        "import logging, secrets, sys\n"
        "from bot.gateway import create_app\n"
        "create_app()\n"
        f"logging.getLogger('bot.gateway.chat').info('callback to %s', '{PHONE}')\n"
    )
    production = {"DATABASE_URL": "sqlite:///var/unused-log-test.db", "REDIS_URL": "redis://x:1/0",
                  "TWILIO_AUTH_TOKEN": "t" * 8}
    keys = {name: __import__("secrets").token_urlsafe(48)
            for name in ("SECRET_KEY", "RASA_TOKEN", "GATEWAY_CHANNEL_SECRET")}
    environ = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **keys, **env}
    if env.get("HOTLINE_ENV") == "production":
        environ.update(production)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=environ)
    assert done.returncode == 0, done.stderr
    line = [line for line in done.stderr.splitlines() if "callback" in line][-1]
    assert PHONE not in line and "138****5678" in line
    if json_expected:
        assert json.loads(line)["logger"] == "bot.gateway.chat"
    else:
        assert line.split(" ", 2)[2].startswith("INFO bot.gateway.chat: callback")


def test_a_bad_log_setting_names_the_variable() -> None:
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings({"LOG_FORMAT": "xml"})
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        load_settings({"LOG_LEVEL": "LOUD"})
    assert load_settings({"LOG_LEVEL": "debug"}).log_level == "DEBUG"
