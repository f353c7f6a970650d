"""Read-only figures from the Rasa tracker store."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot import tracker_store
from bot.gateway.desk import tracker
from bot.records.clock import shanghai_date
from tests.bot.gateway.desk.conftest import beijing, make_tracker_db
from tests.rasa_tracker import write_conversations


@pytest.fixture(autouse=True)
def _dispose():  # type: ignore[no-untyped-def]
    yield
    tracker_store.dispose_engines()


def test_absent_file_is_reported_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "tracker.db"
    figures = tracker.tracker_figures(f"sqlite:///{path}", shanghai_date(), shanghai_date())
    assert figures.unavailable == "absent"
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("url", ["mysql://u:p@localhost/x", "sqlite:///"])
def test_unusable_urls_do_not_raise(url: str) -> None:
    figures = tracker.tracker_figures(url, shanghai_date(), shanghai_date())
    assert figures.unavailable in ("absent", "unreadable")


def test_figures_per_day_and_channel(tmp_path: Path) -> None:
    path = make_tracker_db(tmp_path / "t.db", [
        {"sender": "a", "channel": "voice", "at": beijing(0, 1), "intents": ["greet"]},
        {"sender": "b", "channel": "voice", "at": beijing(-1, 23), "intents": ["faq", "thank"]},
        {"sender": "c", "channel": "webchat", "at": beijing(-1), "intents": ["nlu_fallback"],
         "handover": True},
        {"sender": "d", "channel": "webchat", "at": beijing(-1), "intents": [],
         "gateway_intents": ["authenticated"]},
    ])
    today = shanghai_date()
    figures = tracker.tracker_figures(f"sqlite:///{path}", today - timedelta(days=6), today)
    assert figures.unavailable is None
    assert figures.conversations == 3  # d never typed anything
    assert figures.conversations_by_day[today] == {"voice": 1}
    yesterday = today - timedelta(days=1)
    assert figures.conversations_by_day[yesterday] == {"voice": 1, "webchat": 1}
    assert figures.resolved_without_person == 2
    assert figures.user_turns == 4 and figures.fallback_turns == 1
    assert figures.fallback_rate == pytest.approx(0.25)
    assert dict(figures.top_intents) == {"greet": 1, "faq": 1, "thank": 1}


def test_a_verified_chat_moved_to_a_new_id_counts_once(tracker_db_url: str) -> None:
    """Rasa's own store: the new id starts with the old one's events, its messages marked."""
    start = beijing(0).timestamp()
    write_conversations(tracker_db_url, [
        {"sender": "web-old", "channel": "webchat", "start": start,
         "steps": [{"user": "查一下我的余额", "intent": "query_balance"},
                   {"action": "utter_ask_verification"}, {"user": "/authenticated"}]},
        {"sender": "web-other", "channel": "webchat", "start": start + 30,
         "steps": [{"user": "你好", "intent": "greet"}]},
        {"sender": "web-new", "continues": "web-old", "channel": "webchat",
         "start": start + 60,
         "steps": [{"action": "action_answer_balance"}, {"bot": "您的余额是…"},
                   {"user": "还有贷款呢", "intent": "faq", "label": "faq/loan_limit"},
                   {"user": "转人工", "intent": "human_agent"}, {"action": "action_handover"}]},
    ])
    figures = tracker.tracker_figures(tracker_db_url, shanghai_date(), shanghai_date())
    assert figures.unavailable is None
    assert figures.user_turns == 4  # 查一下我的余额 once, not again from the copy
    assert dict(figures.top_intents) == {"query_balance": 1, "greet": 1, "faq": 1,
                                         "human_agent": 1}
    assert figures.conversations == 2  # web-old and web-new are one chat
    assert figures.conversations_by_day[shanghai_date()] == {"webchat": 2}
    assert figures.resolved_without_person == 1  # the chat was handed over after the move


def test_empty_range_has_no_rates(tmp_path: Path) -> None:
    path = make_tracker_db(tmp_path / "t.db", [])
    figures = tracker.tracker_figures(f"sqlite:///{path}", shanghai_date(), shanghai_date())
    assert figures.unavailable is None
    assert figures.resolved_share is None and figures.fallback_rate is None


def test_postgresql_store(pg_url: str) -> None:
    from bot.records.db import make_engine

    writer = make_engine(pg_url)
    with writer.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255), "
            "type_name VARCHAR(255), timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)")
        connection.exec_driver_sql(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) VALUES "
            f"('p1', 'user', {beijing(0).timestamp()}, 'greet', "
            "'{\"text\": \"你好\", \"input_channel\": \"webchat\"}')")
    try:
        figures = tracker.tracker_figures(pg_url, shanghai_date(), shanghai_date())
        assert figures.unavailable is None
        assert figures.conversations == 1 and figures.top_intents == [("greet", 1)]
    finally:
        tracker_store.dispose_engines()
        with writer.begin() as connection:
            connection.exec_driver_sql("DROP TABLE events")
        writer.dispose()
