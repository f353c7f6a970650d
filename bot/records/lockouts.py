"""Account lock-outs: what counts towards one, who is locked, the unlock, the SMS, spikes.

An account is locked when ``AUTH_MAX_FAILURES`` wrong passwords were given
for it within ``AUTH_FAILURE_WINDOW_HOURS`` since its last successful
verification (:mod:`bot.records.verification` checks it on every attempt).
Here:

- :func:`failures_since` and :func:`count_start`, the one definition of the
  failures that count (a supervisor's unlock marks them ``cleared``);
- :func:`locked_accounts`, the desk's list of locked accounts and why;
- :func:`unlock_account`, supervisors only, audited;
- :func:`failure_spike`, failed verifications across all accounts in the
  last ``AUTH_SPIKE_WINDOW_MINUTES``, against ``AUTH_SPIKE_FAILURES``.

Functions take the session first and leave the transaction to the caller.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.records.account_models import AuthFailure, AuthSession, FundAccount
from bot.records.audit import Actor, audit
from bot.records.clock import utc_now
from bot.records.errors import DeskNotFoundError, DeskPermissionError
from bot.records.identifiers import mask_account
from bot.records.staff_models import StaffRole
from bot.settings import Settings

logger = logging.getLogger(__name__)

COUNTED_REASON = "mismatch"
FAILED_REASONS = ("mismatch", "locked")


def count_start(session: Session, account: FundAccount | None, settings: Settings,
                now: datetime) -> datetime:
    """Failures after this moment count: the window's start or the last success."""
    since = now - timedelta(hours=settings.auth_failure_window_hours)
    if account is None:
        return since
    last_success = session.scalar(
        select(func.max(AuthSession.created_at)).where(AuthSession.account_id == account.id)
    )
    return last_success if last_success is not None and last_success > since else since


def failures_since(session: Session, *, account: FundAccount | None, ident_hash: str,
                   since: datetime) -> int:
    """Wrong passwords (not cleared) for the account or identifier after ``since``."""
    matches = AuthFailure.identifier_hash == ident_hash
    if account is not None:
        matches = or_(matches, AuthFailure.account_id == account.id)
    return session.scalar(
        select(func.count(AuthFailure.id)).where(
            matches, AuthFailure.reason == COUNTED_REASON, AuthFailure.cleared.is_(False),
            AuthFailure.at > since,
        )
    ) or 0


# ------------------------------------------------------------------ the desk


@dataclass(frozen=True)
class LockedAccount:
    """A locked account as the desk lists it (masked; sources by kind only)."""

    account_id: int
    masked_account: str
    failures: int
    since: datetime
    last_at: datetime
    locked_until: datetime
    source_kinds: tuple[str, ...]
    sources: int
    channels: tuple[str, ...]


def locked_accounts(session: Session, settings: Settings,
                    now: datetime | None = None) -> list[LockedAccount]:
    """Accounts locked now, the most recently failed first."""
    now = utc_now(now)
    window = timedelta(hours=settings.auth_failure_window_hours)
    candidates = session.scalars(
        select(AuthFailure.account_id)
        .where(AuthFailure.account_id.is_not(None), AuthFailure.reason == COUNTED_REASON,
               AuthFailure.cleared.is_(False), AuthFailure.at > now - window)
        .group_by(AuthFailure.account_id)
        .having(func.count(AuthFailure.id) >= settings.auth_max_failures)
    ).all()
    locked = []
    for account_id in candidates:
        account = session.get(FundAccount, account_id)
        if account is None:
            continue
        since = count_start(session, account, settings, now)
        rows = session.scalars(
            select(AuthFailure)
            .where(AuthFailure.account_id == account_id, AuthFailure.reason == COUNTED_REASON,
                   AuthFailure.cleared.is_(False), AuthFailure.at > since)
            .order_by(AuthFailure.at, AuthFailure.id)
        ).all()
        if len(rows) < settings.auth_max_failures:
            continue
        locked.append(LockedAccount(
            account_id=account_id,
            masked_account=mask_account(account.account_number),
            failures=len(rows),
            since=rows[0].at,
            last_at=rows[-1].at,
            locked_until=rows[len(rows) - settings.auth_max_failures].at + window,
            source_kinds=tuple(sorted({row.source_kind for row in rows if row.source_kind})),
            sources=len({row.source_hash for row in rows if row.source_hash}),
            channels=tuple(sorted({row.channel.value for row in rows})),
        ))
    return sorted(locked, key=lambda item: item.last_at, reverse=True)


def unlock_account(session: Session, actor: Actor, account_id: int, *,
                   now: datetime | None = None) -> int:
    """Clear an account's counted failures (supervisors only, audited); how many."""
    if actor is not None and actor.role is not StaffRole.supervisor:
        raise DeskPermissionError("supervisor_only")
    account = session.get(FundAccount, account_id)
    if account is None:
        raise DeskNotFoundError("account_not_found")
    result = session.execute(
        update(AuthFailure)
        .where(AuthFailure.account_id == account_id, AuthFailure.cleared.is_(False))
        .values(cleared=True)
    )
    cleared = int(getattr(result, "rowcount", 0) or 0)
    audit(session, actor, "account_unlocked", target_type="fund_account", target_id=account_id,
          detail=f"account={mask_account(account.account_number)} failures={cleared}", now=now)
    logger.info("account %s unlocked by staff", mask_account(account.account_number))
    return cleared


# -------------------------------------------------------------------- spikes


@dataclass(frozen=True)
class Spike:
    failures: int
    threshold: int
    window_minutes: int

    @property
    def alarming(self) -> bool:
        return self.failures > self.threshold


def failure_spike(session: Session, settings: Settings, now: datetime | None = None) -> Spike:
    """Failed verifications across all accounts in the spike window."""
    since = utc_now(now) - timedelta(minutes=settings.auth_spike_window_minutes)
    failures = session.scalar(
        select(func.count(AuthFailure.id)).where(
            AuthFailure.reason.in_(FAILED_REASONS), AuthFailure.at > since
        )
    ) or 0
    return Spike(failures, settings.auth_spike_failures, settings.auth_spike_window_minutes)


def warn_on_spike(session: Session, settings: Settings, now: datetime) -> None:
    """Log a warning (figures only) when failures pass the threshold, and at each
    further multiple of it, so that a spike is logged without flooding the log."""
    spike = failure_spike(session, settings, now)
    over = spike.failures - spike.threshold
    if over > 0 and (over - 1) % spike.threshold == 0:
        logger.warning(
            "verification failures spike: %d failed verifications in %d minutes (threshold %d)",
            spike.failures, spike.window_minutes, spike.threshold,
        )
