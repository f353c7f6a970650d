"""Rasa's SQL tracker store with statement parameters kept out of errors and logs.

Loaded by Rasa only (``tracker_store: type:
bot.rasa_tracker_store.ParameterHidingSQLTrackerStore`` in ``endpoints.yml``
and ``endpoints.production.yml``, with the same settings as Rasa's ``SQL``
type). Every event Rasa saves is a row whose ``data`` holds what the person
typed (ID, phone, account numbers) and, on the phone, the caller's number.
Rasa's own ``SQLTrackerStore`` builds its engine without ``hide_parameters``,
so a failed save would put those values into the SQL error that Rasa logs.
This subclass rebuilds the engine, with the same options, and
``hide_parameters=True``; the SQL and the error are still logged.

Rasa falls back to an in-memory store, with a mere warning, when a custom
tracker store cannot be imported: ``tests/bot/test_rasa_tracker_store.py``
loads both endpoint files through Rasa's own factory to keep that from
happening unnoticed. (The project's readers of the store are
:mod:`bot.tracker_store` and :mod:`bot.records.retention`.)
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from sqlalchemy.orm import sessionmaker


class ParameterHidingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose SQL errors and SQL log never show statement parameters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # connects, waits for the database, creates `events`
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, hide_parameters=True, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
