"""Depositor verification (ID / account / card number + query password) and auth sessions.

Run by the gateway, never by Rasa: the password reaches only
:func:`verify_identity`. On success the caller gets a random token; only its
SHA-256 is stored, in an :class:`~bot.records.account_models.AuthSession` bound to the
conversation and expiring after ``settings.auth_ttl_minutes``. Actions turn
the token back into the one account it grants with :func:`resolve_token`.

Lock-out: once ``settings.auth_max_failures`` wrong passwords were given for an
account (or an unknown identifier) within ``settings.auth_failure_window_hours``
since its last successful verification, every attempt answers ``"locked"``,
even with the right password, until the oldest of those failures leaves the
window. Unknown identifiers and wrong passwords both answer ``"mismatch"`` and
take the same time, so the service does not tell which identifiers exist.

The caller must commit the session whatever the outcome: the failures are
recorded in it. Nothing here logs the password, the token or the identifier.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.records.account_models import (
    AccountStatus,
    AuthFailure,
    AuthSession,
    Depositor,
    FundAccount,
)
from bot.records.base import Channel
from bot.records.clock import utc_now
from bot.records.errors import RecordsValidationError
from bot.records.identifiers import (
    IdentifierKind,
    classify_identifier,
    mask_account,
    normalize_digits,
)
from bot.records.passwords import (
    burn_verification_time,
    hash_password,
    is_valid_password_format,
    needs_rehash,
    verify_password,
)
from bot.records.validation import MAX_CONVERSATION_ID_LENGTH, checked_enum
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

VerifyReason = Literal[
    "invalid_identifier", "invalid_password_format", "mismatch", "locked", "closed_account"
]
TokenReason = Literal["invalid", "expired", "wrong_conversation"]

_MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_identity`; ``token`` is set only when ``ok``."""

    ok: bool
    token: str | None = field(default=None, repr=False)
    reason: VerifyReason | None = None
    remaining_attempts: int | None = None
    masked_account: str | None = None


@dataclass(frozen=True)
class TokenResult:
    """Outcome of :func:`resolve_token`: an account id, or the reason there is none."""

    account_id: int | None
    reason: TokenReason | None = None

    @property
    def ok(self) -> bool:
        return self.account_id is not None


def _conversation_id(conversation_id: str) -> str:
    """The conversation id exactly as given (a token is bound to it, so no stripping)."""
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise RecordsValidationError("conversation_id must be a non-empty string")
    if len(conversation_id) > MAX_CONVERSATION_ID_LENGTH:
        raise RecordsValidationError(
            f"conversation_id is longer than {MAX_CONVERSATION_ID_LENGTH} characters"
        )
    return conversation_id


def identifier_hash(kind: str, normalized: str, secret_key: str) -> str:
    """Keyed hash (HMAC-SHA256 with ``SECRET_KEY``) of a normalised identifier.

    Keyed, because a plain hash of an 18-character ID number could be
    reversed by trying every birth date and sequence.
    """
    message = f"{kind}:{normalized}".encode()
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """SHA-256 hex digest of an auth token (the only form that is stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_account(session: Session, kind: IdentifierKind, normalized: str) -> FundAccount | None:
    """The account an identifier names.

    An ID number may own several accounts over a working life: the open ones
    (normal, then sealed) come before closed ones, newest first.
    """
    if kind == "account_number":
        return session.scalar(select(FundAccount).where(FundAccount.account_number == normalized))
    if kind == "card_number":
        return session.scalar(select(FundAccount).where(FundAccount.card_number == normalized))
    accounts = session.scalars(
        select(FundAccount)
        .join(Depositor, FundAccount.depositor_id == Depositor.id)
        .where(Depositor.id_number == normalized)
    ).all()
    if not accounts:
        return None
    preference = {AccountStatus.normal: 0, AccountStatus.sealed: 1, AccountStatus.closed: 2}
    return sorted(
        accounts, key=lambda acc: (preference[acc.status], -acc.opened_on.toordinal(), -acc.id)
    )[0]


def _failures_since(
    session: Session,
    *,
    account: FundAccount | None,
    ident_hash: str,
    since: datetime,
) -> int:
    matches = AuthFailure.identifier_hash == ident_hash
    if account is not None:
        matches = or_(matches, AuthFailure.account_id == account.id)
    return session.scalar(
        select(func.count(AuthFailure.id)).where(
            matches, AuthFailure.reason == "mismatch", AuthFailure.at > since
        )
    ) or 0


def _last_success(session: Session, account: FundAccount | None) -> datetime | None:
    if account is None:
        return None
    return session.scalar(
        select(func.max(AuthSession.created_at)).where(AuthSession.account_id == account.id)
    )


def verify_identity(
    session: Session,
    identifier: str,
    password: str,
    *,
    channel: Channel | str,
    conversation_id: str,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> VerifyResult:
    """Check an identifier and query password; on success open an auth session.

    Returns a :class:`VerifyResult`; ``reason`` is one of
    ``invalid_identifier``, ``invalid_password_format``, ``mismatch``,
    ``locked`` and ``closed_account``. ``remaining_attempts`` is given with
    ``mismatch`` (0 means the next attempt is locked) and ``locked``.
    """
    settings = settings or load_settings()
    now = utc_now(now)
    channel = checked_enum(Channel, channel, "channel")
    conversation_id = _conversation_id(conversation_id)

    kind, normalized = classify_identifier(identifier)
    if kind is None:
        logger.info("verification refused: invalid identifier (channel=%s)", channel.value)
        return VerifyResult(ok=False, reason="invalid_identifier")
    if isinstance(password, str):
        password = normalize_digits(password.strip())
    if not is_valid_password_format(password):
        logger.info("verification refused: invalid password format (channel=%s)", channel.value)
        return VerifyResult(ok=False, reason="invalid_password_format")

    ident_hash = identifier_hash(kind, normalized, settings.secret_key)
    account = find_account(session, kind, normalized)
    masked = mask_account(account.account_number) if account is not None else None
    since = now - timedelta(hours=settings.auth_failure_window_hours)
    last_success = _last_success(session, account)
    if last_success is not None and last_success > since:
        since = last_success
    failures = _failures_since(session, account=account, ident_hash=ident_hash, since=since)

    def record_failure(reason: str) -> None:
        session.add(
            AuthFailure(
                identifier_hash=ident_hash,
                account_id=account.id if account is not None else None,
                channel=channel,
                at=now,
                reason=reason,
            )
        )
        session.flush()

    if failures >= settings.auth_max_failures:
        record_failure("locked")
        logger.warning(
            "verification locked: account=%s kind=%s channel=%s",
            masked or "unknown",
            kind,
            channel.value,
        )
        return VerifyResult(ok=False, reason="locked", remaining_attempts=0)

    if account is None:
        burn_verification_time(password)
        matched = False
    else:
        matched = verify_password(account.query_password_hash, password)

    if not matched:
        record_failure("mismatch")
        remaining = max(0, settings.auth_max_failures - failures - 1)
        logger.info(
            "verification failed: account=%s kind=%s channel=%s remaining=%d",
            masked or "unknown",
            kind,
            channel.value,
            remaining,
        )
        return VerifyResult(ok=False, reason="mismatch", remaining_attempts=remaining)

    assert account is not None
    if account.status == AccountStatus.closed:
        logger.info("verification refused: closed account=%s channel=%s", masked, channel.value)
        return VerifyResult(ok=False, reason="closed_account", masked_account=masked)

    if needs_rehash(account.query_password_hash):
        account.query_password_hash = hash_password(password)

    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            account_id=account.id,
            channel=channel,
            conversation_id=conversation_id,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.auth_ttl_minutes),
            revoked=False,
        )
    )
    session.flush()
    logger.info("verification succeeded: account=%s channel=%s", masked, channel.value)
    return VerifyResult(ok=True, token=token, masked_account=masked)


def _find_session(session: Session, token: object) -> AuthSession | None:
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    return session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash(token)))


def resolve_token(
    session: Session,
    token: str,
    *,
    conversation_id: str,
    now: datetime | None = None,
) -> TokenResult:
    """The account a token grants in this conversation, or why it grants none.

    ``reason`` is ``"invalid"`` (unknown, forged or revoked), ``"wrong_conversation"``
    (issued to another conversation) or ``"expired"``.
    """
    now = utc_now(now)
    auth = _find_session(session, token)
    if auth is None or auth.revoked:
        return TokenResult(account_id=None, reason="invalid")
    if not isinstance(conversation_id, str) or not hmac.compare_digest(
        auth.conversation_id.encode("utf-8"), conversation_id.encode("utf-8")
    ):
        logger.warning("auth token presented in another conversation; refused")
        return TokenResult(account_id=None, reason="wrong_conversation")
    if now >= auth.expires_at:
        return TokenResult(account_id=None, reason="expired")
    return TokenResult(account_id=auth.account_id)


def revoke_token(session: Session, token: str) -> bool:
    """Revoke a token (e.g. when the caller hangs up); True if there was one."""
    auth = _find_session(session, token)
    if auth is None or auth.revoked:
        return False
    auth.revoked = True
    session.flush()
    return True


def revoke_conversation(session: Session, conversation_id: str) -> int:
    """Revoke every auth session still open in a conversation; how many were revoked.

    Used when a chat ends, when its idle cookie expires and when a verified chat
    moves to a new conversation id: the grant dies with the conversation.
    """
    sessions = session.scalars(
        select(AuthSession).where(
            AuthSession.conversation_id == conversation_id, AuthSession.revoked.is_(False)
        )
    ).all()
    for auth in sessions:
        auth.revoked = True
    session.flush()
    return len(sessions)


def conversation_verified(
    session: Session, conversation_id: str, *, now: datetime | None = None
) -> bool:
    """Whether a conversation holds an auth session that is neither revoked nor expired."""
    now = utc_now(now)
    return (
        session.scalar(
            select(func.count(AuthSession.id)).where(
                AuthSession.conversation_id == conversation_id,
                AuthSession.revoked.is_(False),
                AuthSession.expires_at > now,
            )
        )
        or 0
    ) > 0
