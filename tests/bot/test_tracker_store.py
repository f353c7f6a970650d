"""The tracker store is opened read-only, whatever the backend."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy

from bot import tracker_store
from bot.records.db import make_engine
from tests.bot.gateway.desk.conftest import beijing, make_tracker_db
from tests.bot.records.conftest import assert_parameters_hidden


@pytest.fixture(autouse=True)
def _dispose():  # type: ignore[no-untyped-def]
    yield
    tracker_store.dispose_engines()


def test_relative_sqlite_path_is_taken_from_the_project_root() -> None:
    assert tracker_store.sqlite_path("sqlite:///var/rasa_tracker.db") == (
        tracker_store.PROJECT_ROOT / "var" / "rasa_tracker.db")


def test_absent_sqlite_file_gives_no_engine_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "tracker.db"
    assert tracker_store.read_only_engine(f"sqlite:///{path}") is None
    assert not path.parent.exists()


def test_the_sqlite_store_is_opened_read_only(tmp_path: Path) -> None:
    path = make_tracker_db(tmp_path / "t.db", [
        {"sender": "a", "channel": "voice", "at": beijing(0), "intents": ["greet"]}])
    engine = tracker_store.read_only_engine(f"sqlite:///{path}")
    assert engine is not None
    with pytest.raises(sqlalchemy.exc.OperationalError, match="readonly"):
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM events")


def test_the_postgresql_store_is_read_only(pg_url: str) -> None:
    """Against PostgreSQL the session refuses writes (default_transaction_read_only)."""
    writer = make_engine(pg_url)
    with writer.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255), "
            "type_name VARCHAR(255), timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)")
    try:
        engine = tracker_store.read_only_engine(pg_url)
        assert engine is not None
        with pytest.raises(sqlalchemy.exc.InternalError):
            with engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM events")
    finally:
        tracker_store.dispose_engines()
        with writer.begin() as connection:
            connection.exec_driver_sql("DROP TABLE events")
        writer.dispose()


def test_sql_errors_and_the_sql_log_hide_parameters(db_url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    engine = tracker_store.read_only_engine(db_url)
    assert engine is not None
    assert_parameters_hidden(engine, caplog)


@pytest.mark.parametrize(("data", "channel", "person"), [
    ('{"text": "你好", "input_channel": "voice"}', "voice", True),
    ('{"text": "/authenticated", "input_channel": "webchat"}', "webchat", False),
    ('{"text": "hi", "input_channel": "telegram"}', "other", True),
    ('{"text": "你好", "input_channel": "webchat", "metadata": {"carried_over": true}}',
     "webchat", False),
    ('{"text": "你好", "input_channel": "webchat", "metadata": {"carried_over": "yes"}}',
     "webchat", True),
    ("not json", "other", True),
    ("[1, 2]", "other", True),
    (None, "other", True),
])
def test_event_data_channel_and_person(data: str | None, channel: str, person: bool) -> None:
    fields = tracker_store.event_data(data)
    assert tracker_store.channel_of(fields) == channel
    assert tracker_store.typed_by_person(fields) is person
