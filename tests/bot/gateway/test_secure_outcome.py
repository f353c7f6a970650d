"""The secure step ends the same way on every channel: what Rasa hears, exactly.

One outcome table (success; a wrong password with 4, 3, 2 and 1 attempts left;
the fifth wrong password, which locks the account and is said at once; an
account already locked; an identifier that is no identifier; a closed account)
runs through each channel's own verification path, against the records on
SQLite and PostgreSQL and a fake Rasa that records what it is told. The words
come from :func:`bot.contract.secure_step_outcome`; these tests make sure no
channel words them itself (the web chat and the terminal client once said
"您还可以再试0次" where the phone line said "locked").

A channel is a driver in :data:`CHANNELS`: it performs one verification the
way a person would on that channel and returns the ``(intent, entities)`` Rasa
received, or None when the channel refused the input before verifying (the
web form and the phone keypad screen malformed identifiers themselves). The
phone line's driver calls in, presses the balance key, keys the identifier and
password into signed ``/voice/secure`` webhooks and reads the body posted to
``/webhooks/voice/webhook``; every verification is a new call, so the lock-out
that spans calls is what the table shows.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Optional, Protocol

import pytest
from sqlalchemy import select

from bot.chat import RestConversation, secure_step
from bot.contract import AUTHENTICATED, AUTHENTICATION_FAILED
from bot.gateway import create_app
from bot.gateway.chat.ratelimit import MemoryRateLimiter
from bot.records.verification import resolve_token, verify_identity
from bot.records.db import session_scope
from bot.records.account_models import AccountStatus, Depositor, FundAccount
from bot.records.passwords import hash_password
from bot.settings import Settings, load_settings
from tests.bot.gateway.conftest import FakeRasa
from tests.bot.gateway.voice.conftest import IN_HOURS, Clock, Twilio, call_sid, spoken, start

ID_NUMBER = "510104198503150017"
ACCOUNT = "102030405060"
CLOSED_ACCOUNT = "102030405061"
PASSWORD = "135790"
WRONG = "000000"
NOT_AN_IDENTIFIER = "12345"

Received = Optional[tuple[str, dict[str, str]]]


class AnyToken:
    """Equal to any auth token the records could have issued (random, URL-safe)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and re.fullmatch(r"[A-Za-z0-9_-]{32,}", other) is not None

    def __repr__(self) -> str:
        return "<any auth token>"


@dataclass(frozen=True)
class Case:
    name: str
    wrong_before: int  # wrong passwords given first, from elsewhere (see the test)
    identifier: str
    password: str
    intent: str
    entities: dict[str, Any] = field(default_factory=dict)


def locked() -> dict[str, str]:
    return {"reason": "locked", "remaining": "0"}


OUTCOMES = [
    Case("success", 0, ACCOUNT, PASSWORD, AUTHENTICATED, {"auth_token": AnyToken()}),
    *(
        Case(f"mismatch-{left}-left", 4 - left, ACCOUNT, WRONG, AUTHENTICATION_FAILED,
             {"reason": "mismatch", "remaining": str(left)})
        for left in (4, 3, 2, 1)
    ),
    Case("fifth-wrong-password-locks-at-once", 4, ACCOUNT, WRONG, AUTHENTICATION_FAILED, locked()),
    Case("already-locked", 5, ACCOUNT, PASSWORD, AUTHENTICATION_FAILED, locked()),
    Case("invalid-identifier", 0, NOT_AN_IDENTIFIER, PASSWORD, AUTHENTICATION_FAILED,
         {"reason": "invalid_identifier"}),
    Case("closed-account", 0, CLOSED_ACCOUNT, PASSWORD, AUTHENTICATION_FAILED,
         {"reason": "closed_account"}),
]


class Channel(Protocol):
    conversation_id: str
    records_channel: str  # the channel the auth session is issued on
    screens_identifiers: bool  # a malformed identifier never gets as far as verification

    def verify(self, identifier: str, password: str) -> Received:
        """One verification as a person does it; what Rasa received (None: nothing)."""


ASKS_FOR_IDENTITY = [
    {"text": "为保护您的信息安全，请先验证身份。"},
    {"custom": {"secure_input": "identity"}},
]


# ----------------------------------------------------------------- channels


class Webchat:
    """The widget's form, posted to ``/chat/api/verify`` (channel ``webchat``)."""

    screens_identifiers = True
    records_channel = "webchat"

    def __init__(self, rasa: FakeRasa, db_url: str) -> None:
        self.rasa = rasa
        rasa.tracker = {"events": []}  # a verified chat's tracker moves to its new id
        settings = Settings(env="test", database_url=db_url, rasa_url=rasa.url,
                            chat_verify_attempts_per_session=10)
        app = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True,
                          "CHAT_RATE_LIMITER": MemoryRateLimiter()})
        self.client = app.test_client()
        session = self.client.post("/chat/api/session", json={})
        self.conversation_id = session.get_json()["conversation_id"]
        # The assistant asks for the secure step (and asks again after every outcome).
        asked = self.client.post("/chat/api/message",
                                 json={"conversation_id": self.conversation_id, "text": "查余额"})
        assert asked.get_json()["secure_step"] is True

    def verify(self, identifier: str, password: str) -> Received:
        before = len(self.rasa.received)
        response = self.client.post("/chat/api/verify", json={
            "conversation_id": self.conversation_id, "identifier": identifier,
            "password": password,
        })
        received = self.rasa.received[before:]
        if response.status_code == 422:  # the form refused it: Rasa hears nothing
            assert received == []
            return None
        assert response.status_code == 200, response.get_json()
        # A verified chat continues under a new id (its tracker copied there).
        self.conversation_id = response.get_json()["conversation_id"]
        (request,) = [r for r in received if r.path.startswith("/webhooks/")]
        assert request.path == "/webhooks/webchat/webhook"
        assert request.body["sender"] == self.conversation_id and request.body["kind"] == "intent"
        return request.body["intent"], request.body["entities"]


class Terminal:
    """``python -m bot.chat``: prompts, then Rasa's REST channel (channel ``rest``)."""

    screens_identifiers = False
    records_channel = "rest"

    def __init__(self, rasa: FakeRasa, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DATABASE_URL", db_url)
        self.rasa = rasa
        self.conversation = RestConversation(rasa.url)
        self.conversation_id = self.conversation.sender_id

    def verify(self, identifier: str, password: str) -> Received:
        before = len(self.rasa.received)
        secure_step(self.conversation, ask=lambda _: identifier, ask_secret=lambda _: password)
        (request,) = self.rasa.received[before:]
        assert request.path == "/webhooks/rest/webhook"
        assert request.body["sender"] == self.conversation_id
        match = re.fullmatch(r"/(\w+)(\{.*\})?", request.body["message"], re.S)
        assert match is not None, request.body["message"]
        return match.group(1), json.loads(match.group(2) or "{}")


class Voice:
    """The phone line: signed Twilio webhooks, keypad entry (channel ``voice``)."""

    screens_identifiers = True
    records_channel = "voice"

    def __init__(self, rasa: FakeRasa, db_url: str) -> None:
        self.rasa = rasa
        settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url,
                                  "RASA_URL": rasa.url, "VOICE_TURN_DEADLINE_MS": "3000"})
        app = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True,
                          "VOICE_CLOCK": Clock(IN_HOURS)})
        self.twilio = Twilio(app.test_client(), settings)
        self.calls = 0
        self.conversation_id = ""

    def verify(self, identifier: str, password: str) -> Received:
        self.calls += 1
        sid = call_sid(self.calls)
        self.conversation_id = sid
        start(self.twilio, self.calls)
        ask = self.twilio.twiml("/voice/turn?t=1", CallSid=sid, Digits="1")  # balance
        assert ask.xpath("//Gather/@action") == ["secure?t=2"]
        keyed = self.twilio.twiml("/voice/secure?t=2", CallSid=sid, Digits=identifier)
        if "查询密码" not in spoken(keyed):  # flows/voice.yml: secure.password_prompt
            return None  # the keypad step asked for the identifier again: nothing verified
        before = len(self.rasa.received)
        self.twilio.twiml("/voice/secure?t=3", CallSid=sid, Digits=password)
        (request,) = self.rasa.received[before:]
        assert request.path == "/webhooks/voice/webhook"
        assert request.body["sender"] == sid and request.body["kind"] == "intent"
        return request.body["intent"], request.body["entities"]


CHANNELS: dict[str, Callable[..., Channel]] = {
    "webchat": lambda rasa, db_url, monkeypatch: Webchat(rasa, db_url),
    "terminal": Terminal,
    "voice": lambda rasa, db_url, monkeypatch: Voice(rasa, db_url),
}


@pytest.fixture(params=sorted(CHANNELS))
def channel(request: pytest.FixtureRequest, fake_rasa: FakeRasa, db_url: str,
            monkeypatch: pytest.MonkeyPatch) -> Channel:
    fake_rasa.reply_with(ASKS_FOR_IDENTITY)
    return CHANNELS[request.param](fake_rasa, db_url, monkeypatch)


@pytest.fixture(autouse=True)
def accounts(db_url: str) -> None:
    """One depositor with an open and a closed fund account, same query password."""
    with session_scope(db_url) as session:
        depositor = Depositor(name="张明远", id_number=ID_NUMBER, synthetic=True)
        session.add(depositor)
        for number, status in ((ACCOUNT, AccountStatus.normal),
                               (CLOSED_ACCOUNT, AccountStatus.closed)):
            session.add(FundAccount(
                account_number=number, depositor=depositor, status=status,
                balance=Decimal("56789.12"), monthly_deposit=Decimal("2076.00"),
                base=Decimal("8650.00"), employee_rate=Decimal("0.12"),
                employer_rate=Decimal("0.12"), paid_up_month=date(2026, 10, 1),
                opened_on=date(2012, 7, 16),
                query_password_hash=hash_password(PASSWORD, strength="light"),
            ))


# ----------------------------------------------------------------- the table


@pytest.mark.parametrize("case", OUTCOMES, ids=[case.name for case in OUTCOMES])
def test_rasa_hears_the_same_outcome_on_every_channel(channel: Channel, case: Case,
                                                      db_url: str) -> None:
    # The wrong passwords before come from other places: one source alone is
    # throttled before it can lock an account (bot/records/throttle.py).
    settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": db_url})
    with session_scope(db_url) as session:
        for n in range(case.wrong_before):
            assert verify_identity(session, ACCOUNT, WRONG, channel="rest",
                                   conversation_id=f"elsewhere-{n}",
                                   settings=settings).reason == "mismatch"
    received = channel.verify(case.identifier, case.password)
    if case.identifier == NOT_AN_IDENTIFIER and channel.screens_identifiers:
        assert received is None
        return
    assert received == (case.intent, case.entities)


def test_the_token_grants_the_account_in_that_conversation_only(channel: Channel,
                                                                db_url: str) -> None:
    intent, entities = channel.verify(ACCOUNT, PASSWORD)
    assert intent == AUTHENTICATED
    with session_scope(db_url) as session:
        granted = resolve_token(session, entities["auth_token"], channel=channel.records_channel,
                                conversation_id=channel.conversation_id)
        account = session.scalar(select(FundAccount.id).where(FundAccount.account_number == ACCOUNT))
        assert granted.account_id == account
        other = resolve_token(session, entities["auth_token"], channel=channel.records_channel,
                              conversation_id="someone-else")
        assert other.account_id is None
        for elsewhere in {"webchat", "voice", "rest", "other"} - {channel.records_channel}:
            moved = resolve_token(session, entities["auth_token"], channel=elsewhere,
                                  conversation_id=channel.conversation_id)
            assert (moved.account_id, moved.reason) == (None, "wrong_channel")
