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
window (or a supervisor unlocks it, :mod:`bot.records.lockouts`). Unknown
identifiers and wrong passwords both answer ``"mismatch"`` and
take the same time, so the service does not tell which identifiers exist.

Parallel attempts on one account (and from one source) are checked one
after the other (:func:`bot.records.throttle.serialise`), so that no more than
``auth_max_failures`` passwords are ever tried. Given its ``sources``, an
attempt also passes the soft per-source throttle first
(:mod:`bot.records.throttle`): a throttled attempt answers ``"throttled"``
with ``retry_after_seconds``, runs no password check and counts against no
account. The failure that locks an account says so (``locked_account_id``):
the gateway then sends the depositor an SMS.

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
from typing import Iterable, Literal

from sqlalchemy import func, select
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
from bot.records.lockouts import count_start, failures_since, warn_on_spike
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
from bot.records.throttle import Source, check_sources, record_outcome, serialise
from bot.records.validation import MAX_CONVERSATION_ID_LENGTH, checked_enum
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

VerifyReason = Literal[
    "invalid_identifier", "invalid_password_format", "mismatch", "locked", "closed_account",
    "throttled",
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
    retry_after_seconds: int | None = None
    # Set when this very attempt locked the account: the gateway tells the
    # depositor by SMS (never shown to the person verifying).
    locked_account_id: int | None = field(default=None, repr=False)


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


def verify_identity(
    session: Session,
    identifier: str,
    password: str,
    *,
    channel: Channel | str,
    conversation_id: str,
    settings: Settings | None = None,
    now: datetime | None = None,
    sources: Iterable[Source] = (),
) -> VerifyResult:
    """Check an identifier and query password; on success open an auth session.

    Returns a :class:`VerifyResult`; ``reason`` is one of
    ``invalid_identifier``, ``invalid_password_format``, ``throttled``,
    ``mismatch``, ``locked`` and ``closed_account``. ``remaining_attempts`` is
    given with ``mismatch`` (0 means the next attempt is locked) and ``locked``;
    ``retry_after_seconds`` with ``throttled``. ``sources`` are where the
    attempt came from (:func:`bot.records.throttle.web_sources`,
    :func:`~bot.records.throttle.call_sources`); none: no per-source throttle.
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
    target = f"account:{account.id}" if account is not None else ident_hash
    hashed = {source.hashed(settings.secret_key): source.kind for source in sources}
    serialise(session, [f"auth:{target}", *(f"auth-source:{value}" for value in hashed)])
    if hashed:
        verdict = check_sources(session, hashed, settings, now)
        if not verdict.allowed:
            logger.warning("verification throttled: source %s (channel=%s, %d s)",
                           verdict.state, channel.value, verdict.retry_after_seconds)
            return VerifyResult(ok=False, reason="throttled",
                                retry_after_seconds=verdict.retry_after_seconds)
    since = count_start(session, account, settings, now)
    failures = failures_since(session, account=account, ident_hash=ident_hash, since=since)
    # The failure records where it came from: the address, network or number.
    origin = next(((value, source_kind) for value, source_kind in hashed.items()
                   if source_kind != "session"), (None, None))

    def record_failure(reason: str) -> None:
        session.add(
            AuthFailure(
                identifier_hash=ident_hash,
                account_id=account.id if account is not None else None,
                channel=channel,
                at=now,
                reason=reason,
                source_hash=origin[0],
                source_kind=origin[1],
            )
        )
        record_outcome(session, hashed, target_key=target, failed=True, now=now)
        warn_on_spike(session, settings, now)

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
        locked_now = account is not None and failures + 1 == settings.auth_max_failures
        logger.info(
            "verification failed: account=%s kind=%s channel=%s remaining=%d",
            masked or "unknown",
            kind,
            channel.value,
            remaining,
        )
        return VerifyResult(ok=False, reason="mismatch", remaining_attempts=remaining,
                            locked_account_id=account.id if locked_now and account else None)

    assert account is not None
    record_outcome(session, hashed, target_key=target, failed=False, now=now)
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
