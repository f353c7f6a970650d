from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.account_models import (
    AccountStatus,
    AuthFailure,
    AuthSession,
    Depositor,
    FundAccount,
)
from bot.records.errors import RecordsValidationError
from bot.records.passwords import hash_password, needs_rehash, verify_password
from bot.records.verification import (
    conversation_verified,
    resolve_token,
    revoke_conversation,
    revoke_token,
    verify_identity,
)
from bot.settings import Settings

ID_NUMBER = "510104198503150017"
ACCOUNT = "102030405060"
CARD = "6217003810000012345"
PASSWORD = "135790"
WRONG = "000000"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
SETTINGS = Settings(
    auth_ttl_minutes=15,
    auth_max_failures=5,
    auth_failure_window_hours=24,
    secret_key="test-secret",
)


def _add_account(
    session: Session,
    *,
    id_number: str = ID_NUMBER,
    account_number: str = ACCOUNT,
    card_number: str | None = CARD,
    password: str = PASSWORD,
    status: AccountStatus = AccountStatus.normal,
    opened_on: date = date(2012, 7, 16),
    strength: str = "light",
) -> FundAccount:
    depositor = session.scalar(select(Depositor).where(Depositor.id_number == id_number))
    if depositor is None:
        depositor = Depositor(name="张明远", id_number=id_number, synthetic=True)
        session.add(depositor)
    account = FundAccount(
        account_number=account_number,
        card_number=card_number,
        depositor=depositor,
        status=status,
        balance=Decimal("56789.12"),
        monthly_deposit=Decimal("2076.00"),
        base=Decimal("8650.00"),
        employee_rate=Decimal("0.12"),
        employer_rate=Decimal("0.12"),
        paid_up_month=date(2026, 10, 1),
        opened_on=opened_on,
        query_password_hash=hash_password(password, strength=strength),  # type: ignore[arg-type]
    )
    session.add(account)
    session.flush()
    return account


def _verify(session: Session, identifier: str, password: str, *, at: datetime = NOW,
            conversation_id: str = "conv-1"):  # type: ignore[no-untyped-def]
    return verify_identity(
        session,
        identifier,
        password,
        channel="voice",
        conversation_id=conversation_id,
        settings=SETTINGS,
        now=at,
    )


# ---------------------------------------------------------------- verification


@pytest.mark.parametrize("identifier", [ID_NUMBER, ACCOUNT, CARD, "6217 0038 1000 0012 345"])
def test_success_with_each_identifier(db_session: Session, identifier: str) -> None:
    account = _add_account(db_session)
    result = _verify(db_session, identifier, PASSWORD)
    assert result.ok
    assert result.reason is None
    assert result.masked_account == "1020****5060"
    assert result.token and len(result.token) >= 40
    assert result.token not in repr(result)
    stored = db_session.scalars(select(AuthSession)).one()
    assert stored.token_hash == hashlib.sha256(result.token.encode()).hexdigest()
    assert stored.account_id == account.id
    assert stored.conversation_id == "conv-1"
    assert stored.expires_at == NOW + timedelta(minutes=15)
    assert not stored.revoked


def test_full_width_input_is_normalised(db_session: Session) -> None:
    _add_account(db_session)
    assert _verify(db_session, "１０２０３０４０５０６０", "１３５７９０").ok


def test_success_upgrades_a_light_hash(db_session: Session) -> None:
    account = _add_account(db_session, strength="light")
    assert needs_rehash(account.query_password_hash)
    assert _verify(db_session, ACCOUNT, PASSWORD).ok
    assert not needs_rehash(account.query_password_hash)
    assert verify_password(account.query_password_hash, PASSWORD)


@pytest.mark.parametrize(
    "identifier",
    ["510104198503150018", "10203040506", "5217003810000012345", "", "张三"],
)
def test_invalid_identifier(db_session: Session, identifier: str) -> None:
    _add_account(db_session)
    result = _verify(db_session, identifier, PASSWORD)
    assert (result.ok, result.reason, result.token) == (False, "invalid_identifier", None)
    assert db_session.scalars(select(AuthFailure)).all() == []


@pytest.mark.parametrize("password", ["12345", "1234567", "abcdef", ""])
def test_invalid_password_format(db_session: Session, password: str) -> None:
    _add_account(db_session)
    result = _verify(db_session, ACCOUNT, password)
    assert (result.ok, result.reason) == (False, "invalid_password_format")
    assert db_session.scalars(select(AuthFailure)).all() == []


def test_wrong_password_and_unknown_identifier_look_alike(db_session: Session) -> None:
    _add_account(db_session)
    wrong = _verify(db_session, ACCOUNT, WRONG)
    unknown = _verify(db_session, "102030405099", PASSWORD)
    assert (wrong.ok, wrong.reason, wrong.remaining_attempts) == (False, "mismatch", 4)
    assert (unknown.ok, unknown.reason, unknown.remaining_attempts) == (False, "mismatch", 4)
    assert wrong.masked_account is None and unknown.masked_account is None


def test_lockout_after_five_failures_even_with_right_password(db_session: Session) -> None:
    _add_account(db_session)
    remaining = []
    for minute in range(5):
        result = _verify(db_session, ACCOUNT, WRONG, at=NOW + timedelta(minutes=minute))
        assert result.reason == "mismatch"
        remaining.append(result.remaining_attempts)
    assert remaining == [4, 3, 2, 1, 0]
    locked = _verify(db_session, ACCOUNT, PASSWORD, at=NOW + timedelta(minutes=6))
    assert (locked.ok, locked.reason, locked.remaining_attempts, locked.token) == (
        False, "locked", 0, None
    )
    # The lock covers the account, whichever identifier names it.
    assert _verify(db_session, ID_NUMBER, PASSWORD, at=NOW + timedelta(hours=1)).reason == "locked"
    assert _verify(db_session, CARD, PASSWORD, at=NOW + timedelta(hours=2)).reason == "locked"
    assert db_session.scalars(select(AuthSession)).all() == []


def test_lockout_resets_after_the_window(db_session: Session) -> None:
    _add_account(db_session)
    for minute in range(5):
        _verify(db_session, ACCOUNT, WRONG, at=NOW + timedelta(minutes=minute))
    assert _verify(db_session, ACCOUNT, PASSWORD, at=NOW + timedelta(hours=23)).reason == "locked"
    # 24 h after the first failure only four remain in the window: one more try.
    just_after_first = NOW + timedelta(hours=24, seconds=1)
    assert _verify(db_session, ACCOUNT, PASSWORD, at=just_after_first).ok
    # Locked attempts themselves do not extend the lock.
    assert _verify(db_session, ACCOUNT, WRONG, at=just_after_first).remaining_attempts == 4


def test_success_clears_earlier_failures(db_session: Session) -> None:
    _add_account(db_session)
    for minute in range(4):
        _verify(db_session, ACCOUNT, WRONG, at=NOW + timedelta(minutes=minute))
    assert _verify(db_session, ACCOUNT, PASSWORD, at=NOW + timedelta(minutes=5)).ok
    result = _verify(db_session, ACCOUNT, WRONG, at=NOW + timedelta(minutes=6))
    assert result.remaining_attempts == 4


def test_unknown_identifier_is_locked_out_too(db_session: Session) -> None:
    for minute in range(5):
        assert _verify(db_session, "102030405099", WRONG,
                       at=NOW + timedelta(minutes=minute)).reason == "mismatch"
    assert _verify(db_session, "102030405099", WRONG,
                   at=NOW + timedelta(minutes=9)).reason == "locked"


def test_failures_store_no_secret(db_session: Session) -> None:
    account = _add_account(db_session)
    _verify(db_session, ACCOUNT, WRONG)
    _verify(db_session, "102030405099", WRONG)
    failures = db_session.scalars(select(AuthFailure).order_by(AuthFailure.id)).all()
    assert [f.account_id for f in failures] == [account.id, None]
    for failure in failures:
        values = " ".join(str(getattr(failure, column.key)) for column in AuthFailure.__table__.c)
        assert ACCOUNT not in values and "102030405099" not in values
        assert WRONG not in values and PASSWORD not in values
        assert len(failure.identifier_hash) == 64
        assert failure.identifier_hash != hashlib.sha256(ACCOUNT.encode()).hexdigest()


def test_identifier_hash_is_keyed(db_session: Session) -> None:
    _add_account(db_session)
    _verify(db_session, ACCOUNT, WRONG)
    verify_identity(db_session, ACCOUNT, WRONG, channel="voice", conversation_id="c",
                    settings=replace(SETTINGS, secret_key="other-secret"), now=NOW)
    hashes = db_session.scalars(select(AuthFailure.identifier_hash)).all()
    assert len(set(hashes)) == 2


def test_closed_account(db_session: Session) -> None:
    _add_account(db_session, status=AccountStatus.closed)
    assert _verify(db_session, ACCOUNT, WRONG).reason == "mismatch"
    result = _verify(db_session, ACCOUNT, PASSWORD)
    assert (result.ok, result.reason, result.token) == (False, "closed_account", None)


def test_id_number_prefers_the_open_account(db_session: Session) -> None:
    _add_account(db_session, account_number="102030409999", card_number=None,
                 status=AccountStatus.closed, opened_on=date(2020, 1, 1), password="111111")
    _add_account(db_session)
    result = _verify(db_session, ID_NUMBER, PASSWORD)
    assert result.ok and result.masked_account == "1020****5060"


def test_bad_channel_and_naive_now_are_developer_errors(db_session: Session) -> None:
    with pytest.raises(RecordsValidationError, match="channel"):
        verify_identity(db_session, ACCOUNT, PASSWORD, channel="fax", conversation_id="c",
                        settings=SETTINGS, now=NOW)
    with pytest.raises(RecordsValidationError, match="aware"):
        verify_identity(db_session, ACCOUNT, PASSWORD, channel="voice", conversation_id="c",
                        settings=SETTINGS, now=datetime(2026, 1, 1))
    with pytest.raises(RecordsValidationError, match="conversation_id"):
        verify_identity(db_session, ACCOUNT, PASSWORD, channel="voice", conversation_id="",
                        settings=SETTINGS, now=NOW)


def test_nothing_secret_is_logged(db_session: Session, caplog: pytest.LogCaptureFixture) -> None:
    _add_account(db_session)
    with caplog.at_level(logging.DEBUG):
        tokens = []
        for password in (WRONG, WRONG, PASSWORD):
            result = _verify(db_session, ACCOUNT, password)
            if result.token:
                tokens.append(result.token)
        _verify(db_session, ID_NUMBER, WRONG)
        _verify(db_session, "102030405099", WRONG)
        resolve_token(db_session, tokens[0], channel="voice", conversation_id="other", now=NOW)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "verification should leave an audit trail in the log"
    for secret in (PASSWORD, WRONG, ACCOUNT, ID_NUMBER, "102030405099", *tokens):
        assert secret not in text


# ------------------------------------------------------------------------ tokens


def _token(db_session: Session) -> str:
    _add_account(db_session)
    result = _verify(db_session, ACCOUNT, PASSWORD)
    assert result.ok and result.token
    return result.token


def test_token_resolves_in_its_conversation(db_session: Session) -> None:
    token = _token(db_session)
    account_id = db_session.scalar(select(FundAccount.id))
    result = resolve_token(db_session, token, channel="voice", conversation_id="conv-1",
                           now=NOW + timedelta(minutes=14))
    assert (result.account_id, result.reason, result.ok) == (account_id, None, True)


def test_expired_token(db_session: Session) -> None:
    token = _token(db_session)
    result = resolve_token(db_session, token, channel="voice", conversation_id="conv-1",
                           now=NOW + timedelta(minutes=15))
    assert (result.account_id, result.reason) == (None, "expired")


def test_token_from_another_conversation(db_session: Session) -> None:
    token = _token(db_session)
    result = resolve_token(db_session, token, channel="voice", conversation_id="conv-2", now=NOW)
    assert (result.account_id, result.reason) == (None, "wrong_conversation")


@pytest.mark.parametrize("elsewhere", ["rest", "webchat", "other", "", None])
def test_token_presented_on_another_channel(db_session: Session, elsewhere) -> None:
    # Issued on the phone line (conv-1): the same reference, in the same
    # conversation, posted through any other channel reads nothing.
    token = _token(db_session)
    result = resolve_token(db_session, token, channel=elsewhere, conversation_id="conv-1",
                           now=NOW)
    assert (result.account_id, result.reason) == (None, "wrong_channel")
    assert resolve_token(db_session, token, channel="voice", conversation_id="conv-1",
                         now=NOW).ok


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "x" * 43,
        "a" * 1000,
        hashlib.sha256(b"anything").hexdigest(),
    ],
)
def test_forged_token(db_session: Session, forged: str) -> None:
    _token(db_session)
    assert resolve_token(db_session, forged, channel="voice", conversation_id="conv-1",
                         now=NOW).reason == "invalid"
    random_token = secrets.token_urlsafe(32)
    assert resolve_token(db_session, random_token, channel="voice", conversation_id="conv-1",
                         now=NOW).reason == "invalid"


def test_stored_hash_is_not_a_token(db_session: Session) -> None:
    _token(db_session)
    stored_hash = db_session.scalar(select(AuthSession.token_hash))
    assert stored_hash is not None
    assert resolve_token(db_session, stored_hash, channel="voice", conversation_id="conv-1",
                         now=NOW).reason == "invalid"


def test_revoked_token(db_session: Session) -> None:
    token = _token(db_session)
    assert revoke_token(db_session, token)
    assert not revoke_token(db_session, token)
    assert resolve_token(db_session, token, channel="voice", conversation_id="conv-1",
                         now=NOW).reason == "invalid"


def test_tokens_survive_commit_and_a_new_session(db_url: str) -> None:
    from bot.records.db import session_scope

    with session_scope(db_url) as session:
        _add_account(session)
        token = _verify(session, ACCOUNT, PASSWORD).token
    with session_scope(db_url) as session:
        assert resolve_token(session, token or "", channel="voice", conversation_id="conv-1",
                             now=NOW).ok


# ------------------------------------------------------------ a conversation's grant


def test_revoke_conversation_ends_every_grant_of_that_conversation_only(
    db_session: Session,
) -> None:
    _add_account(db_session)
    first = _verify(db_session, ACCOUNT, PASSWORD).token
    second = _verify(db_session, ACCOUNT, PASSWORD, at=NOW + timedelta(minutes=1)).token
    other = _verify(db_session, ACCOUNT, PASSWORD, conversation_id="conv-2").token
    assert conversation_verified(db_session, "conv-1", now=NOW + timedelta(minutes=2))
    assert revoke_conversation(db_session, "conv-1") == 2
    assert revoke_conversation(db_session, "conv-1") == 0
    later = NOW + timedelta(minutes=2)
    for token in (first, second):
        assert resolve_token(db_session, token or "", channel="voice", conversation_id="conv-1",
                             now=later).reason == "invalid"
    assert resolve_token(db_session, other or "", channel="voice", conversation_id="conv-2", now=later).ok
    assert not conversation_verified(db_session, "conv-1", now=later)
    assert conversation_verified(db_session, "conv-2", now=later)


def test_conversation_verified_only_until_the_grant_expires(db_session: Session) -> None:
    _token(db_session)
    assert conversation_verified(db_session, "conv-1", now=NOW + timedelta(minutes=14))
    assert not conversation_verified(db_session, "conv-1", now=NOW + timedelta(minutes=15))
    assert not conversation_verified(db_session, "conv-never", now=NOW)
