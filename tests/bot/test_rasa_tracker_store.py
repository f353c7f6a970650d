"""Rasa's tracker store, as the endpoint files configure it, hides statement parameters.

Run in the Rasa environment (this file is also the script it runs, like
``tests/rasa_tracker.py``): Rasa's own factory builds the store from
``endpoints.yml`` (SQLite) and ``endpoints.production.yml`` (PostgreSQL, its
``${…}`` variables set), saves a conversation, then saves it again with an ID
number typed while a trigger refuses every new row of ``events`` (the insert,
whose parameters hold the typed text, fails). The store must be the
project's class (Rasa would fall back to memory if it could not be imported),
the first save must be kept, and the failed save's error, as Rasa would log
it, must not hold the ID number.

Wrapped by Rasa's agent in ``FailSafeTrackerStore`` (as ``rasa run`` wraps it),
the store fails a turn when its database fails — retrieving and saving raise
:class:`bot.rasa_tracker_store.TrackerStoreUnavailable` — instead of Rasa's
fallback to a new, empty tracker, which a plain ``SQLTrackerStore`` still gets.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
ID_NUMBER = "510104198503150017"
STORE_CLASS = "ParameterHidingSQLTrackerStore"
# A plain error, not a constraint: PostgreSQL would quote a refused row's values in
# its DETAIL line, which no client option hides (the store has no such constraint).
REFUSE_INSERTS = {
    "sqlite": ["CREATE TRIGGER refuse_events BEFORE INSERT ON events "
               "BEGIN SELECT RAISE(ABORT, 'events refused'); END"],
    "postgresql": ["CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'events refused'; END $$",
                   "CREATE TRIGGER refuse_events BEFORE INSERT ON events "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_events()"],
}


def _in_rasa(endpoints: str, env: dict[str, str], overrides: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [str(RASA_PYTHON), __file__, str(ROOT / endpoints), json.dumps(overrides)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
             "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_endpoint_files_store_hides_parameters(tracker_db_url: str) -> None:
    url = make_url(tracker_db_url)
    if url.get_backend_name() == "sqlite":
        endpoints, env, overrides = "endpoints.yml", {}, {"db": url.database}
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        endpoints, overrides = "endpoints.production.yml", {}
        env = {"TRACKER_DB_HOST": url.host, "TRACKER_DB_PORT": str(url.port),
               "TRACKER_DB_NAME": url.database, "TRACKER_DB_USER": url.username,
               "TRACKER_DB_PASSWORD": url.password or "",
               "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook", "REDIS_HOST": "127.0.0.1",
               "REDIS_PORT": "6379", "REDIS_LOCK_DB": "1", "REDIS_PASSWORD": "",
               "ACTION_SERVER_SECRET": "x" * 48}
    outcome = _in_rasa(endpoints, env, overrides)
    assert outcome["store"] == STORE_CLASS
    assert outcome["kept"] >= 1  # the first save is in the store
    assert "events refused" in outcome["error"] and "INSERT INTO events" in outcome["error"]
    assert ID_NUMBER not in outcome["error"]



def test_wrapped_by_rasa_the_store_fails_the_turn_instead_of_forgetting(
        tracker_db_url: str) -> None:
    url = make_url(tracker_db_url)
    if url.get_backend_name() == "sqlite":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    outcome = _in_rasa("--fail-safe", {}, {"url": url.set(drivername=url.get_backend_name())
                                           .render_as_string(hide_password=False)})
    assert outcome["ours"] == {"before": 1, "retrieve": "TrackerStoreUnavailable",
                               "save": "TrackerStoreUnavailable"}
    assert outcome["rasa"] == {"before": 1, "retrieve": "None", "save": "fell back"}


def _fail_safe(url: str) -> None:
    import asyncio

    from rasa.core.agent import Agent
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_tracker_store import ParameterHidingSQLTrackerStore

    outcome: dict[str, Any] = {}
    for name, kind in (("ours", ParameterHidingSQLTrackerStore), ("rasa", SQLTrackerStore)):
        inner = kind(host=url)
        store = Agent._create_tracker_store(inner, Domain.empty())  # as `rasa run` wraps it
        tracker = DialogueStateTracker.from_events(f"{name}-1", [UserUttered("我要投诉")])
        asyncio.run(store.save(tracker))
        result = {"before": len(asyncio.run(store.retrieve(f"{name}-1")).events)}
        with inner.engine.begin() as connection:  # the database fails from here on
            connection.exec_driver_sql("ALTER TABLE events RENAME TO events_away")
        try:
            result["retrieve"] = str(asyncio.run(store.retrieve(f"{name}-1")))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            result["retrieve"] = type(exc).__name__
        try:
            asyncio.run(store.save(tracker))
            result["save"] = "fell back"
        except Exception as exc:  # noqa: BLE001 - reported to the test
            result["save"] = type(exc).__name__
        with inner.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE events_away RENAME TO events")
            connection.exec_driver_sql("DELETE FROM events")
        inner.engine.dispose()
        outcome[name] = result
    print(json.dumps(outcome))

def _main(endpoints: str, overrides: dict[str, Any]) -> None:
    import asyncio
    import traceback

    from rasa.core.tracker_store import create_tracker_store
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(endpoints, "tracker_store")
    config.kwargs.update(overrides)
    store = create_tracker_store(config)
    inner = getattr(store, "_tracker_store", store)

    tracker = DialogueStateTracker.from_events("web-1", [UserUttered("查余额")])
    asyncio.run(store.save(tracker))
    with inner.engine.begin() as connection:
        kept = connection.exec_driver_sql("SELECT COUNT(*) FROM events").scalar()
        for statement in REFUSE_INSERTS[inner.engine.dialect.name]:
            connection.exec_driver_sql(statement)
    try:
        tracker.update(UserUttered(f"我的身份证是{ID_NUMBER}"))
        asyncio.run(store.save(tracker))
        error = ""
    except Exception as exc:  # noqa: BLE001 - reported to the test
        error = "".join(traceback.format_exception(exc))
    finally:
        inner.engine.dispose()
    print(json.dumps({"store": type(inner).__name__, "kept": kept, "error": error}))


if __name__ == "__main__":
    if Path(sys.argv[1]).name == "--fail-safe":  # _in_rasa puts it under ROOT
        _fail_safe(json.loads(sys.argv[2])["url"])
    else:
        _main(sys.argv[1], json.loads(sys.argv[2]))
