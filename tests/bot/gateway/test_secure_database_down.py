"""The secure step with the database failing: the apology, and nothing secret in any log.

Web chat (``POST /chat/api/verify``) and phone (``/voice/secure``) each meet
the records failing in every way the secure step can see it:

- the look-up fails (the ``depositors`` and ``fund_accounts`` tables are
  gone; the failing statement carries the identifier as a parameter);
- recording the wrong password fails (``auth_failures`` gone) or opening the
  auth session fails (``auth_sessions`` gone);
- the PostgreSQL database is dropped in the middle of the conversation;
- nothing listens on the database port at all.

The visitor gets the web chat's ``verify_unavailable`` message (503, Rasa hears
nothing) and the caller the phone line's apology and a transfer (never a
Twilio error). Every log record of every logger at every level, with its
formatted exception (the SQL error and what caused it), must hold neither the
query password nor the identifier typed, in any of its three kinds. The
statement failures run on SQLite and PostgreSQL; the outages on PostgreSQL.
"""
from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.contract import AUTHENTICATED
from bot.gateway import create_app
from bot.gateway.chat.ratelimit import MemoryRateLimiter
from bot.gateway.chat.texts import load_texts
from bot.records.account_models import AccountStatus, Depositor, FundAccount
from bot.records.db import dispose_engines, make_engine, session_scope
from bot.records.migrate import upgrade
from bot.records.passwords import hash_password
from bot.settings import Settings, load_settings
from tests.bot.gateway.conftest import FakeRasa
from tests.bot.gateway.voice.conftest import (
    IN_HOURS,
    Clock,
    Twilio,
    call_sid,
    closed_port,
    spoken,
    start,
)

ID_NUMBER = "510104198503150017"
ACCOUNT = "102030405060"
CARD = "6217003810012345678"
PASSWORD = "135790"
WRONG = "246802"
IDENTIFIERS = {"id_number": ID_NUMBER, "account_number": ACCOUNT, "card_number": CARD}
SECRETS = (ID_NUMBER, ACCOUNT, CARD, PASSWORD, WRONG)
ASKS_FOR_IDENTITY = [{"text": "为保护您的信息安全，请先验证身份。"},
                     {"custom": {"secure_input": "identity"}}]
LOOKUP_TABLES = ("depositors", "fund_accounts")
APOLOGY = "非常抱歉，系统暂时出现故障"  # flows/voice.yml: prompts.system_error


# ------------------------------------------------------------------ helpers


def add_account(url: str) -> None:
    with session_scope(url) as session:
        depositor = Depositor(name="张明远", id_number=ID_NUMBER, synthetic=True)
        session.add(FundAccount(
            account_number=ACCOUNT, card_number=CARD, depositor=depositor,
            status=AccountStatus.normal, balance=Decimal("56789.12"),
            monthly_deposit=Decimal("2076.00"), base=Decimal("8650.00"),
            employee_rate=Decimal("0.12"), employer_rate=Decimal("0.12"),
            paid_up_month=date(2026, 10, 1), opened_on=date(2012, 7, 16),
            query_password_hash=hash_password(PASSWORD, strength="light"),
        ))


def rename_tables(url: str, tables: tuple[str, ...], *, back: bool = False) -> None:
    """Make tables vanish (``x`` → ``x_away``) or come back: statements on them fail."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for table in tables:
                old, new = (f"{table}_away", table) if back else (table, f"{table}_away")
                connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")
    finally:
        engine.dispose()


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database under the gateway's feet (its connections are ended)."""
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         password=parsed.password, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{parsed.database}" WITH (FORCE)')


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as a handler would write it, exception and stack included."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def assert_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    assert any(record.exc_info for record in caplog.records), "no failure was logged"
    text = logged_text(caplog)
    assert "parameters:" not in text or "hidden" in text
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def db_up(db_url: str) -> str:
    """The records with one account (on SQLite and PostgreSQL)."""
    add_account(db_url)
    return db_url


@pytest.fixture
def own_pg_url(empty_db_url: str) -> str:
    """A migrated PostgreSQL database of this test alone, with the account (it may be dropped)."""
    upgrade(empty_db_url)
    add_account(empty_db_url)
    return empty_db_url


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger, every level (the SQL echo included)
    return caplog


# ----------------------------------------------------------------- web chat


class Chat:
    """A visitor of the web chat who was asked to verify."""

    def __init__(self, rasa: FakeRasa, settings: Settings) -> None:
        rasa.reply_with(ASKS_FOR_IDENTITY)
        self.rasa = rasa
        app = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True,
                          "CHAT_RATE_LIMITER": MemoryRateLimiter()})
        self.client = app.test_client()
        self.conversation_id = self.client.post("/chat/api/session", json={}).get_json()[
            "conversation_id"]
        asked = self.client.post("/chat/api/message", json={
            "conversation_id": self.conversation_id, "text": "查余额"})
        assert asked.get_json()["secure_step"] is True

    def verify(self, identifier: str, password: str):  # type: ignore[no-untyped-def]
        before = len(self.rasa.received)
        response = self.client.post("/chat/api/verify", json={
            "conversation_id": self.conversation_id, "identifier": identifier,
            "password": password})
        self.told = self.rasa.received[before:]
        return response


def chat_settings(url: str, rasa: FakeRasa) -> Settings:
    return Settings(env="test", database_url=url, rasa_url=rasa.url)


def assert_chat_apology(response, chat: Chat) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert response.get_json()["error"] == {
        "code": "verify_unavailable", "message": load_texts().error("verify_unavailable")}
    assert chat.told == []  # Rasa hears no outcome: nothing was verified


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
def test_chat_lookup_failing(kind: str, db_up: str, fake_rasa: FakeRasa,
                             logs: pytest.LogCaptureFixture) -> None:
    chat = Chat(fake_rasa, chat_settings(db_up, fake_rasa))
    rename_tables(db_up, LOOKUP_TABLES)
    try:
        response = chat.verify(IDENTIFIERS[kind], PASSWORD)
    finally:
        rename_tables(db_up, LOOKUP_TABLES, back=True)
    assert_chat_apology(response, chat)
    assert_logged_without_secrets(logs)


@pytest.mark.parametrize(("table", "password"), [("auth_failures", WRONG),
                                                  ("auth_sessions", PASSWORD)])
def test_chat_recording_the_outcome_failing(table: str, password: str, db_up: str,
                                            fake_rasa: FakeRasa,
                                            logs: pytest.LogCaptureFixture) -> None:
    chat = Chat(fake_rasa, chat_settings(db_up, fake_rasa))
    rename_tables(db_up, (table,))
    try:
        response = chat.verify(ID_NUMBER, password)
    finally:
        rename_tables(db_up, (table,), back=True)
    assert_chat_apology(response, chat)
    assert_logged_without_secrets(logs)


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_chat_database_dropped_during_the_conversation(own_pg_url: str, fake_rasa: FakeRasa,
                                                       logs: pytest.LogCaptureFixture) -> None:
    chat = Chat(fake_rasa, chat_settings(own_pg_url, fake_rasa))
    assert chat.verify(ACCOUNT, WRONG).status_code == 200  # the records answered once
    dispose_engines()
    drop_database(own_pg_url)
    assert_chat_apology(chat.verify(ID_NUMBER, PASSWORD), chat)
    assert_logged_without_secrets(logs)


def test_chat_database_server_unreachable(fake_rasa: FakeRasa,
                                          logs: pytest.LogCaptureFixture) -> None:
    url = f"postgresql://hotline@127.0.0.1:{closed_port()}/records"
    chat = Chat(fake_rasa, chat_settings(url, fake_rasa))
    for identifier in IDENTIFIERS.values():
        assert_chat_apology(chat.verify(identifier, PASSWORD), chat)
    assert_logged_without_secrets(logs)


# -------------------------------------------------------------------- phone


class Phone:
    """A caller who pressed the balance key and keys the identifier, then the password."""

    def __init__(self, rasa: FakeRasa, url: str) -> None:
        rasa.reply_with(ASKS_FOR_IDENTITY)
        self.rasa = rasa
        settings = load_settings({"HOTLINE_ENV": "test", "DATABASE_URL": url,
                                  "RASA_URL": rasa.url, "VOICE_TURN_DEADLINE_MS": "3000"})
        app = create_app({"HOTLINE_SETTINGS": settings, "TESTING": True,
                          "VOICE_CLOCK": Clock(IN_HOURS)})
        self.twilio = Twilio(app.test_client(), settings)
        self.sid = call_sid(7)
        start(self.twilio, 7)
        ask = self.twilio.twiml("/voice/turn?t=1", CallSid=self.sid, Digits="1")
        assert ask.xpath("//Gather/@action") == ["secure?t=2"]

    def key_identifier(self, identifier: str) -> None:
        keyed = self.twilio.twiml("/voice/secure?t=2", CallSid=self.sid, Digits=identifier)
        assert "查询密码" in spoken(keyed)  # flows/voice.yml: secure.password_prompt

    def key_password(self, password: str):  # type: ignore[no-untyped-def]
        before = len(self.rasa.received)
        doc = self.twilio.twiml("/voice/secure?t=3", CallSid=self.sid, Digits=password)
        self.told = [r for r in self.rasa.received[before:]
                     if (r.body or {}).get("intent") == AUTHENTICATED]
        return doc


def assert_phone_apology(doc, phone: Phone) -> None:  # type: ignore[no-untyped-def]
    """The apology, then a person (in agent hours): never silence or an error tone."""
    assert spoken(doc).startswith(APOLOGY)
    assert doc.xpath("/Response/Dial")
    assert phone.told == []


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
def test_phone_lookup_failing(kind: str, db_up: str, fake_rasa: FakeRasa,
                              logs: pytest.LogCaptureFixture) -> None:
    phone = Phone(fake_rasa, db_up)
    phone.key_identifier(IDENTIFIERS[kind])
    rename_tables(db_up, LOOKUP_TABLES)
    try:
        doc = phone.key_password(PASSWORD)
    finally:
        rename_tables(db_up, LOOKUP_TABLES, back=True)
    assert_phone_apology(doc, phone)
    assert_logged_without_secrets(logs)


@pytest.mark.parametrize(("table", "password"), [("auth_failures", WRONG),
                                                  ("auth_sessions", PASSWORD)])
def test_phone_recording_the_outcome_failing(table: str, password: str, db_up: str,
                                             fake_rasa: FakeRasa,
                                             logs: pytest.LogCaptureFixture) -> None:
    phone = Phone(fake_rasa, db_up)
    phone.key_identifier(ID_NUMBER)
    rename_tables(db_up, (table,))
    try:
        doc = phone.key_password(password)
    finally:
        rename_tables(db_up, (table,), back=True)
    assert_phone_apology(doc, phone)
    assert_logged_without_secrets(logs)


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_phone_database_dropped_between_identifier_and_password(
        own_pg_url: str, fake_rasa: FakeRasa, logs: pytest.LogCaptureFixture) -> None:
    phone = Phone(fake_rasa, own_pg_url)
    phone.key_identifier(ID_NUMBER)
    dispose_engines()
    drop_database(own_pg_url)
    assert_phone_apology(phone.key_password(PASSWORD), phone)
    assert_logged_without_secrets(logs)
