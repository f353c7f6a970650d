"""Rasa's SQL tracker store, opened read-only: the ``events`` table and its readers.

Rasa 3.6's ``SQLTrackerStore`` keeps one row per event in ``events``: ``id``
(insertion order), ``sender_id`` (the conversation), ``type_name`` (``user``,
``bot``, ``action``, ``active_loop``…), ``intent_name``, ``action_name``,
``timestamp`` as epoch seconds and ``data``, the event as JSON text (a user
event's ``text``, ``input_channel``, ``message_id`` and ``parse_data``; a bot
event's ``text`` and ``data`` with any custom payload).

The project reads it through ``TRACKER_DB_URL`` and never writes: SQLite is
opened with ``mode=ro`` (a missing file stays missing), PostgreSQL sessions
are ``default_transaction_read_only`` with a statement timeout; production
should also use a database role that may only ``SELECT``. Two readers use it:
the desk's conversation figures (:mod:`bot.gateway.desk.tracker`) and the
learning inbox's harvest (:mod:`bot.records.learning`).
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, table
from sqlalchemy.engine import Engine, make_url

from bot.contract import is_carried_over
from bot.records.db import normalize_url
from bot.settings import PROJECT_ROOT

STATEMENT_TIMEOUT_MS = 5000
KNOWN_CHANNELS = ("voice", "webchat", "rest")

events = table(
    "events",
    column("id"),
    column("sender_id"),
    column("type_name"),
    column("intent_name"),
    column("action_name"),
    column("timestamp"),
    column("data"),
)

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite tracker-store URL (relative paths from the project root)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_only_engine(url: str) -> Engine | None:
    """A read-only engine for the tracker store, or None when the SQLite file is absent.

    Raises ``ValueError`` or ``sqlalchemy.exc.SQLAlchemyError`` for a URL that
    cannot be used; engines are kept per URL for the life of the process.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None or not path.is_file():
            return None
        key = f"sqlite:{path}"
    else:
        key = parsed.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if parsed.get_backend_name() == "sqlite":
                engine = create_engine(
                    f"sqlite:///file:{path}?mode=ro&uri=true",
                    hide_parameters=True,  # no message text in SQL errors or logs
                    connect_args={"timeout": 2},
                )
            else:
                engine = create_engine(
                    parsed,
                    pool_pre_ping=True,
                    hide_parameters=True,
                    connect_args={
                        "connect_timeout": 3,
                        "options": "-c default_transaction_read_only=on "
                        f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                    },
                )
            _engines[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every tracker-store connection of this process."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def event_data(data: str | None) -> dict[str, Any]:
    """An event's ``data`` column as a dict (``{}`` when it is not a JSON object)."""
    try:
        parsed = json.loads(data or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def channel_of(data: dict[str, Any]) -> str:
    """The input channel of a user event: ``voice``, ``webchat``, ``rest`` or ``other``."""
    channel = data.get("input_channel")
    return channel if channel in KNOWN_CHANNELS else "other"


def typed_by_person(data: dict[str, Any]) -> bool:
    """Whether a user event is a message a person typed or said in this conversation.

    False for the gateway's own ``/intent`` messages (e.g. the secure step's
    outcome) and for a person's messages copied from a verified chat's old id
    (:func:`bot.contract.is_carried_over`): the old conversation keeps them, so
    they are counted there, once.
    """
    return not str(data.get("text") or "").startswith("/") and not is_carried_over(data)
