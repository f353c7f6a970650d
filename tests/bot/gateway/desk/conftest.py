"""Fixtures of the desk tests: the gateway on a migrated records DB, staff, log-in, forms.

Supervisors log in with a TOTP code, computed here with pyotp from the key the
enrolment page shows (first log-in) or the enrolled key (later ones), as their
authenticator app would; the desk has no switch that skips the second factor.

Every test that uses ``app`` runs on SQLite and on PostgreSQL (``db_url``).
Staff are created through :func:`bot.records.staff.create_staff`,
complaints through :func:`bot.records.complaints.create_complaint` as the
assistant files them.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot import tracker_store
from bot.gateway import create_app
from bot.records import passwords
from bot.records.complaints import create_complaint
from bot.records.db import session_scope
from bot.records.second_factor import open_secret
from bot.records.staff import create_staff
from bot.records.staff_models import StaffUser
from bot.settings import Settings

SECRET = "desk-test-secret-key"
PASSWORD = "Lianxi-96319-mima"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOTP_SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    role: str


def make_settings(db_url: str, tracker_url: str) -> Settings:
    return Settings(env="test", database_url=db_url, tracker_db_url=tracker_url,
                    secret_key=SECRET)


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id at its lightest cost for these HTTP tests (0.3 s per hash otherwise).

    Still real argon2id hashing and verification; the production cost profile
    is asserted in tests/bot/records/test_passwords.py and used by the browser
    and command-line tests.
    """
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8192,
                                                       parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def tracker_url(tmp_path: Path) -> str:
    """A tracker-store URL whose file does not exist (tests that need one create it)."""
    return f"sqlite:///{tmp_path / 'tracker' / 'rasa_tracker.db'}"


@pytest.fixture
def app(db_url: str, tracker_url: str) -> Iterator[Flask]:
    application = create_app(
        {"HOTLINE_SETTINGS": make_settings(db_url, tracker_url), "TESTING": True}
    )
    yield application
    tracker_store.dispose_engines()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_person(db_url: str):  # type: ignore[no-untyped-def]
    """Create a staff member: ``make_person("lihua", "agent")``."""

    def make(username: str, role: str = "agent", *, display_name: str | None = None,
             must_change: bool = False) -> Person:
        with session_scope(db_url) as session:
            create_staff(session, None, username=username,
                            display_name=display_name or username.title(), role=role,
                            password=PASSWORD, must_change_password=must_change)
        return Person(username, PASSWORD, role)

    return make


@pytest.fixture
def agent(make_person) -> Person:  # type: ignore[no-untyped-def]
    return make_person("lihua", "agent", display_name="李华")


@pytest.fixture
def other_agent(make_person) -> Person:  # type: ignore[no-untyped-def]
    return make_person("zhaolei", "agent", display_name="赵磊")


@pytest.fixture
def supervisor(make_person) -> Person:  # type: ignore[no-untyped-def]
    return make_person("wangfang", "supervisor", display_name="王芳")


def csrf_from(client: FlaskClient, path: str = "/desk/login") -> str:
    """The CSRF token of the form on ``path`` (as a browser would read it)."""
    response = client.get(path)
    match = _CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF field on {path} ({response.status_code})"
    return match.group(1)


def log_in(client: FlaskClient, person: Person, password: str | None = None) -> Any:
    """Log in as a person would; a supervisor also enrols or types the authenticator's code.

    Returns the last response: the password step's, or the code step's.
    """
    token = csrf_from(client, "/desk/login")
    response = client.post("/desk/login", data={
        "username": person.username, "password": password or person.password,
        "csrf_token": token,
    })
    step = response.headers.get("Location", "") if response.status_code == 303 else ""
    if step == "/desk/login/enrol":
        secret = enrolment_secret(client)
        return client.post(step, data={"code": pyotp.TOTP(secret).now(),
                                       "csrf_token": csrf_from(client, step)})
    if step == "/desk/login/code":
        return client.post(step, data={"code": authenticator_code(client, person.username),
                                       "csrf_token": csrf_from(client, step)})
    return response


def enrolment_secret(client: FlaskClient) -> str:
    """The key the enrolment page shows (as a supervisor types it into the app)."""
    page = client.get("/desk/login/enrol").get_data(as_text=True)
    match = _TOTP_SECRET_RE.search(page)
    assert match, "no TOTP key on the enrolment page"
    return match.group(1).replace(" ", "")


def authenticator_secret(app: Flask, username: str) -> str:
    """The enrolled key of ``username``: what their authenticator app holds."""
    settings = app.config["HOTLINE_SETTINGS"]
    with session_scope(settings.database_url) as session:
        staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
        secret = open_secret(staff.totp_secret, staff.id, settings.secret_key)
    assert secret, f"{username} has no second factor"
    return secret


def authenticator_code(client: FlaskClient, username: str) -> str:
    """The code the app shows now, or the next step's if the desk has had this one.

    A code is good once and the desk accepts one step either side, so a test
    logging the same supervisor in twice within 30 seconds uses the next step's
    code (as if the app had just turned over); a third time waits for it.
    """
    settings = client.application.config["HOTLINE_SETTINGS"]
    totp = pyotp.TOTP(authenticator_secret(client.application, username))
    with session_scope(settings.database_url) as session:
        last = session.scalar(select(StaffUser.totp_last_step)
                              .where(StaffUser.username == username))
    current = totp.timecode(time.time())
    if last is not None and last >= current + 1:
        time.sleep(totp.interval - time.time() % totp.interval + 0.1)
        current = totp.timecode(time.time())
    return totp.generate_otp(max(current, (last or 0) + 1))


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None,
         *, form_page: str = "/desk/complaints") -> Any:
    """POST a desk form with the CSRF token read from ``form_page``."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_from(client, form_page)})


@pytest.fixture
def as_agent(client: FlaskClient, agent: Person) -> FlaskClient:
    assert log_in(client, agent).status_code == 303
    return client


@pytest.fixture
def as_supervisor(client: FlaskClient, supervisor: Person) -> FlaskClient:
    assert log_in(client, supervisor).status_code == 303
    return client


def file_complaint(db_url: str, *, key: str = "k-1", category: str = "attitude",
                   channel: str = "webchat", description: str = "窗口人员态度恶劣，问了三遍都不耐烦",
                   phone: str | None = "13812345678", now: datetime | None = None,
                   transcript: list[dict[str, str]] | None = None) -> str:
    """File a complaint exactly as the assistant does; returns its ticket id."""
    with session_scope(db_url) as session:
        complaint, _ = create_complaint(
            session,
            idempotency_key=key,
            category=category,
            channel=channel,
            description=description,
            location="金牛区服务大厅",
            staff_number=None,
            contact_phone=phone,
            conversation_id=f"conv-{key}",
            transcript=transcript if transcript is not None else [
                {"role": "user", "text": "我要投诉", "at": "2026-11-20T09:00:00+08:00"},
                {"role": "bot", "text": "请问投诉哪一类问题？", "at": "2026-11-20T09:00:01+08:00"},
                {"role": "system", "text": "authenticated", "at": "2026-11-20T09:00:02+08:00"},
                {"role": "user", "text": description, "at": "2026-11-20T09:00:30+08:00"},
            ],
            now=now,
        )
        return complaint.ticket_id


@pytest.fixture
def ticket(db_url: str) -> str:
    return file_complaint(db_url)


def make_tracker_db(path: Path, conversations: Sequence[dict[str, Any]]) -> Path:
    """A SQLite file with Rasa's tracker-store ``events`` table and these conversations.

    Each conversation: ``sender``, ``channel``, ``at`` (aware datetime of its
    first message), ``intents`` (one per user turn), ``handover`` (bool),
    ``gateway_intents`` (messages starting with "/", not typed by a person).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE events (id INTEGER NOT NULL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
        "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
        "action_name VARCHAR(255), data TEXT)"
    )
    rows: list[tuple[Any, ...]] = []
    for conv in conversations:
        moment: datetime = conv["at"]
        stamp = moment.timestamp()
        rows.append((conv["sender"], "action", stamp, None, "action_session_start",
                     json.dumps({"event": "action", "name": "action_session_start"})))
        for index, intent in enumerate(conv.get("intents", [])):
            stamp += 5
            data = {"event": "user", "timestamp": stamp, "text": f"第{index}句",
                    "input_channel": conv["channel"],
                    "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}
            rows.append((conv["sender"], "user", stamp, intent, None,
                         json.dumps(data, ensure_ascii=False)))
            rows.append((conv["sender"], "bot", stamp + 1, None, None,
                         json.dumps({"event": "bot", "text": "好的"}, ensure_ascii=False)))
        for intent in conv.get("gateway_intents", []):
            stamp += 5
            data = {"event": "user", "text": f"/{intent}", "input_channel": conv["channel"]}
            rows.append((conv["sender"], "user", stamp, intent, None, json.dumps(data)))
        if conv.get("handover"):
            stamp += 5
            rows.append((conv["sender"], "action", stamp, None, "action_handover",
                         json.dumps({"event": "action", "name": "action_handover"})))
    connection.executemany(
        "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.commit()
    connection.close()
    return path


def beijing(day_offset: int = 0, hour: int = 10) -> datetime:
    """An aware datetime ``day_offset`` days from today at ``hour`` o'clock Beijing time."""
    from bot.records.clock import SHANGHAI, shanghai_date

    day = shanghai_date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)
