"""Rasa's SQL tracker store: statement parameters kept out of errors, and no silent fallback.

Loaded by Rasa only (``tracker_store: type:
bot.rasa_tracker_store.ParameterHidingSQLTrackerStore`` in ``endpoints.yml``
and ``endpoints.production.yml``, with the same settings as Rasa's ``SQL``
type).

- **Parameters hidden.** Every event Rasa saves is a row whose ``data`` holds
  what the person typed (ID, phone, account numbers) and, on the phone, the
  caller's number. Rasa's own ``SQLTrackerStore`` builds its engine without
  ``hide_parameters``, so a failed save would put those values into the SQL
  error that Rasa logs. This subclass rebuilds the engine, with the same
  options, ``hide_parameters=True`` and ``pool_pre_ping=True`` (after a
  database restart a pooled connection is tested and replaced before use, so
  the first turn after the restart is answered, not failed).
- **No silent fallback.** Rasa wraps every tracker store in
  ``FailSafeTrackerStore``, which, when the database fails, answers the turn
  from a *new, empty* tracker and keeps what it saves in this process's memory:
  a caller in the middle of a complaint would be greeted as a new person, and
  the turns of the outage would be lost when the database is back (RasaHQ/rasa
  #3243). For this store the wrapper fails the turn instead
  (:class:`TrackerStoreUnavailable`: Rasa answers the channel with HTTP 500),
  so the gateway gives the designed apology, and the conversation resumes
  where it was once the database is back. The wrapper has a constructor hook
  for this (``on_tracker_store_error``) that Rasa's agent never passes; it is
  given here when the wrapped store is this class (Rasa 3.6.21 is pinned).

Rasa falls back to an in-memory store, with a mere warning, when a custom
tracker store cannot be imported: ``tests/bot/test_rasa_tracker_store.py``
loads both endpoint files through Rasa's own factory to keep that from
happening unnoticed; ``tests/outage/`` restarts PostgreSQL under a running
Rasa. (The project's readers of the store are :mod:`bot.tracker_store` and
:mod:`bot.records.retention`.)
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import (
    FailSafeTrackerStore,
    SQLTrackerStore,
    TrackerStore,
    create_engine_kwargs,
)
from sqlalchemy.orm import sessionmaker


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store failed: the turn fails rather than run on an empty tracker."""


class ParameterHidingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose SQL errors and SQL log never show statement parameters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # connects, waits for the database, creates `events`
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, hide_parameters=True, pool_pre_ping=True,
                                       **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)


def fail_the_turn(error: Exception) -> None:
    """``FailSafeTrackerStore``'s error hook for this store: raise instead of falling back."""
    raise TrackerStoreUnavailable(
        f"tracker store unavailable ({type(error).__name__}); the turn is not answered"
    ) from error


def _failing_closed(wrap: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(wrap)
    def __init__(self: FailSafeTrackerStore, tracker_store: TrackerStore,
                 on_tracker_store_error: Optional[Callable[[Exception], None]] = None,
                 fallback_tracker_store: Optional[TrackerStore] = None) -> None:
        if on_tracker_store_error is None and isinstance(tracker_store,
                                                         ParameterHidingSQLTrackerStore):
            on_tracker_store_error = fail_the_turn
        wrap(self, tracker_store, on_tracker_store_error, fallback_tracker_store)

    __init__.fails_closed = True  # type: ignore[attr-defined]
    return __init__


if not getattr(FailSafeTrackerStore.__init__, "fails_closed", False):
    FailSafeTrackerStore.__init__ = _failing_closed(FailSafeTrackerStore.__init__)  # type: ignore[method-assign]
