"""The soft per-source throttle of the secure step, and per-key serialisation.

The hard lock (:mod:`bot.records.verification`) protects an account from
guessing: five wrong passwords in 24 hours lock it. Anyone who knows an ID
number could use it to lock that depositor out, so every attempt also counts
against where it came from (a :class:`Source`): the web visitor's address
(an IPv6 address as its /64 network), the chat session or call, and the
calling number. A source with ``AUTH_SOURCE_SLOW_AFTER`` failures waits
``AUTH_SOURCE_SLOW_MINUTES`` after its last one (*slowed*); with
``AUTH_SOURCE_STOP_AFTER`` failures, or failures on
``AUTH_SOURCE_STOP_ACCOUNTS`` different accounts, it is *stopped* until those
failures leave ``AUTH_SOURCE_WINDOW_HOURS``. The stop comes below the lock
(the settings insist), so a source alone never locks an account it does not
own. A success from a source starts its count afresh.

The events are rows of ``auth_source_events`` (shared by every gateway
process) with keyed hashes only: no address, number or session id is stored.
:func:`serialise` takes PostgreSQL transaction-level advisory locks so that
parallel attempts on one account or from one source are checked one after
the other; SQLite has a single writer and needs none.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.records.account_models import AuthSourceEvent
from bot.records.identifiers import normalize_phone
from bot.settings import Settings

SourceKind = Literal["address", "network", "session", "phone"]
ThrottleState = Literal["open", "slowed", "stopped"]

ANONYMOUS_CALLER = "anonymous"


@dataclass(frozen=True)
class Source:
    """Where a verification attempt came from; the value is never stored or logged."""

    kind: SourceKind
    value: str = field(repr=False)

    def hashed(self, secret_key: str) -> str:
        """Keyed hash (HMAC-SHA256 with ``SECRET_KEY``) of the source."""
        message = f"source:{self.kind}:{self.value}".encode("utf-8")
        return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ThrottleVerdict:
    """May the source try now? ``retry_after_seconds`` is set unless ``open``."""

    state: ThrottleState
    retry_after_seconds: int = 0

    @property
    def allowed(self) -> bool:
        return self.state == "open"


def address_source(address: str | None) -> Source:
    """A web visitor's source: an IPv4 address, or the /64 network of an IPv6 one."""
    raw = (address or "").strip()
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return Source("address", raw or "unknown")
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return Source("address", str(ip.ipv4_mapped))
        return Source("network", str(ipaddress.IPv6Network(f"{ip}/64", strict=False)))
    return Source("address", str(ip))


def web_sources(address: str | None, session_id: str) -> tuple[Source, ...]:
    """The sources of a web chat attempt: the address (or /64) and the chat session."""
    return (address_source(address), Source("session", session_id))


def call_sources(from_number: str | None, call_sid: str) -> tuple[Source, ...]:
    """The sources of a phone attempt: the calling number and the call.

    Callers who hide their number share one source: otherwise a hidden number
    could simply call again after each stop.
    """
    number = normalize_phone(from_number or "") or ANONYMOUS_CALLER
    return (Source("phone", number), Source("session", call_sid))


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def serialise(session: Session, names: Iterable[str]) -> None:
    """Hold a PostgreSQL advisory lock on each name until the transaction ends.

    Locks are taken in one order (sorted keys), so two attempts never wait on
    each other in a cycle. Nothing to do on SQLite (one writer at a time).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({lock_key(name) for name in names}):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _verdict_for(
    session: Session, source_hash: str, settings: Settings, now: datetime
) -> ThrottleVerdict:
    window = timedelta(hours=settings.auth_source_window_hours)
    since = now - window
    last_success = session.scalar(
        select(func.max(AuthSourceEvent.at)).where(
            AuthSourceEvent.source_hash == source_hash,
            AuthSourceEvent.failed.is_(False),
            AuthSourceEvent.at > since,
        )
    )
    if last_success is not None:
        since = last_success
    failures = session.execute(
        select(AuthSourceEvent.at, AuthSourceEvent.target_key)
        .where(
            AuthSourceEvent.source_hash == source_hash,
            AuthSourceEvent.failed.is_(True),
            AuthSourceEvent.at > since,
        )
        .order_by(AuthSourceEvent.at, AuthSourceEvent.id)
    ).all()

    def stopped(rows: list) -> bool:  # type: ignore[type-arg]
        return (len(rows) >= settings.auth_source_stop_after
                or len({row.target_key for row in rows}) >= settings.auth_source_stop_accounts)

    if stopped(failures):
        # Stopped until enough of its failures have left the window.
        until = next(row.at + window for index, row in enumerate(failures)
                     if not stopped(failures[index + 1:]))
        return ThrottleVerdict("stopped", _seconds(until - now))
    if len(failures) >= settings.auth_source_slow_after:
        until = failures[-1].at + timedelta(minutes=settings.auth_source_slow_minutes)
        if until > now:
            return ThrottleVerdict("slowed", _seconds(until - now))
    return ThrottleVerdict("open")


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def check_sources(
    session: Session, hashes: Iterable[str], settings: Settings, now: datetime
) -> ThrottleVerdict:
    """The strictest verdict over the sources (stopped, then slowed, then open)."""
    worst = ThrottleVerdict("open")
    rank = {"open": 0, "slowed": 1, "stopped": 2}
    for source_hash in hashes:
        verdict = _verdict_for(session, source_hash, settings, now)
        if (rank[verdict.state], verdict.retry_after_seconds) > (
            rank[worst.state], worst.retry_after_seconds
        ):
            worst = verdict
    return worst


def record_outcome(
    session: Session,
    sources: dict[str, SourceKind],
    *,
    target_key: str,
    failed: bool,
    now: datetime,
) -> None:
    """One event per source (``{hash: kind}``) for an attempt that was checked."""
    for source_hash, kind in sources.items():
        session.add(AuthSourceEvent(source_hash=source_hash, source_kind=kind,
                                    target_key=target_key, failed=failed, at=now))
    session.flush()



def wait_span(seconds: int) -> tuple[Literal["minutes", "hours"], int]:
    """How a wait is told to a person: whole minutes up to two hours, else whole hours."""
    seconds = max(1, int(seconds))
    if seconds <= 2 * 3600:
        return "minutes", -(-seconds // 60)
    return "hours", -(-seconds // 3600)
