from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlalchemy.exc import IntegrityError

from bot.records.db import make_engine
from bot.records.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    downgrade,
    schema_diff,
    upgrade,
)
from bot.records.schema import metadata

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DESK_TABLES = {"staff_users", "staff_sessions", "staff_login_failures", "desk_audit_events"}


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_upgrade_creates_every_model_table(empty_db_url: str) -> None:
    assert current_revision(empty_db_url) is None
    upgrade(empty_db_url)
    assert current_revision(empty_db_url) == _head()
    engine = make_engine(empty_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(db_url: str) -> None:
    assert schema_diff(db_url) == []


def test_comparison_is_not_vacuous(db_url: str) -> None:
    """The same comparison reports a column the migrations never created."""
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["ratings"].append_column(Column("extra", String(10)))
    changed.tables["complaints"].c.location.type = String(300)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, changed)
    finally:
        engine.dispose()
    kinds = {entry[0] if isinstance(entry, tuple) else entry[0][0] for entry in diff}
    assert "add_column" in kinds
    assert "modify_type" in kinds


def test_downgrade_to_base_and_up_again(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")
    engine = make_engine(empty_db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(empty_db_url)
    assert schema_diff(empty_db_url) == []


def test_initial_migration_is_written_out() -> None:
    # Every revision is written out; each model table is created by one of them
    # (0001 the records, later revisions the parts' tables, e.g. 0002 the desk).
    texts = [
        path.read_text(encoding="utf-8")
        for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    ]
    assert texts
    for text in texts:
        assert "create_all" not in text
        assert "bot.records" not in text, "migrations must not depend on today's models"
    for table in metadata.tables:
        assert any(f'"{table}"' in text for text in texts), table


def test_module_cli_upgrades_without_alembic_ini(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "cli.db"
    url = f"sqlite:///{database}"
    result = subprocess.run(
        [sys.executable, "-m", "bot.records.migrate", "upgrade", "--url", url],
        cwd=tmp_path,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "alembic.ini").exists()
    assert current_revision(url) == _head()
    check = subprocess.run(
        [sys.executable, "-m", "bot.records.migrate", "check", "--url", url],
        cwd=tmp_path,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_enum_codes_are_checked_by_the_database(db_url: str) -> None:
    """A code outside the enum is refused by the CHECK constraint itself."""
    engine = make_engine(db_url)
    try:
        with pytest.raises(IntegrityError):
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO ratings (conversation_id, channel, score, created_at) "
                        "VALUES ('c1', 'fax', 3, CURRENT_TIMESTAMP)"
                    )
                )
        with pytest.raises(IntegrityError):
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO ratings (conversation_id, channel, score, created_at) "
                        "VALUES ('c1', 'voice', 6, CURRENT_TIMESTAMP)"
                    )
                )
    finally:
        engine.dispose()


def test_migration_0002_adds_and_removes_only_the_desk_tables(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0001")
    engine = make_engine(empty_db_url)
    try:
        before = set(inspect(engine).get_table_names())
        upgrade(empty_db_url, "0002")
        assert set(inspect(engine).get_table_names()) - before == DESK_TABLES
        downgrade(empty_db_url, "0001")
        assert set(inspect(engine).get_table_names()) == before
    finally:
        engine.dispose()
    upgrade(empty_db_url)
    assert schema_diff(empty_db_url) == []


def test_migration_0004_adds_and_removes_only_the_learning_inbox(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0003")
    engine = make_engine(empty_db_url)
    try:
        before = set(inspect(engine).get_table_names())
        upgrade(empty_db_url, "0004")
        assert set(inspect(engine).get_table_names()) - before == {"missed_turns"}
        unique = inspect(engine).get_unique_constraints("missed_turns")
        assert [sorted(u["column_names"]) for u in unique] == [["conversation_key", "event_key"]]
        downgrade(empty_db_url, "0003")
        assert set(inspect(engine).get_table_names()) == before
    finally:
        engine.dispose()


def test_migration_0009_keeps_the_outbox_and_widens_its_statuses(empty_db_url: str) -> None:
    """Rows already in the outbox get 0 attempts; ``sending`` and ``unknown`` are
    allowed after it and mapped back (pending, failed) when it is undone."""
    upgrade(empty_db_url, "0008")
    engine = make_engine(empty_db_url)
    insert = text("INSERT INTO sms_outbox (to_number, body, purpose, reference, status, "
                  "created_at) VALUES ('13800000000', 'b', 'p', :ref, :status, CURRENT_TIMESTAMP)")
    try:
        with engine.begin() as connection:
            connection.execute(insert, {"ref": "old", "status": "sent"})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"ref": "early", "status": "unknown"})
        upgrade(empty_db_url, "0009")
        with engine.begin() as connection:
            assert connection.execute(text("SELECT attempts, status FROM sms_outbox")).all() == [
                (0, "sent")]
            connection.execute(text(
                "INSERT INTO sms_outbox (to_number, body, purpose, reference, status, created_at, "
                "attempts) VALUES ('1', 'b', 'p', 'u', 'unknown', CURRENT_TIMESTAMP, 1), "
                "('1', 'b', 'p', 's', 'sending', CURRENT_TIMESTAMP, 1)"))
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"ref": "bad", "status": "lost"})
        assert {"ix_sms_outbox_status_next_attempt_at", "ix_sms_outbox_created_at"} <= {
            index["name"] for index in inspect(engine).get_indexes("sms_outbox")}
        downgrade(empty_db_url, "0008")
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT reference, status FROM sms_outbox ORDER BY reference")).all() == [
                ("old", "sent"), ("s", "pending"), ("u", "failed")]
        assert "attempts" not in {c["name"] for c in inspect(engine).get_columns("sms_outbox")}
    finally:
        engine.dispose()
    upgrade(empty_db_url)
    assert schema_diff(empty_db_url) == []
