"""One records session per request for every blueprint (bot.gateway.db)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask
from sqlalchemy import func, select

from bot.gateway import create_app
from bot.gateway.db import db
from bot.records.db import session_scope
from bot.records.account_models import AuthFailure
from bot.records.base import Channel
from bot.settings import Settings


def make_app(db_url: str) -> tuple[Flask, list]:
    app = create_app({"HOTLINE_SETTINGS": Settings(env="test", database_url=db_url),
                      "TESTING": True})
    sessions: list = []

    def write(reason: str):  # type: ignore[no-untyped-def]
        session = db()
        assert db() is session  # the same session all through the request
        sessions.append(session)
        session.add(AuthFailure(identifier_hash="0" * 64, channel=Channel.webchat,
                                at=datetime.now(timezone.utc), reason=reason))
        session.flush()
        if reason == "kept":
            session.commit()
        return "ok"

    app.add_url_rule("/write/<reason>", "write", write)
    return app, sessions


def failures(db_url: str) -> list[str]:
    with session_scope(db_url) as session:
        return list(session.scalars(select(AuthFailure.reason).order_by(AuthFailure.id)))


def test_committed_work_stays_and_the_rest_is_rolled_back(db_url: str) -> None:
    app, sessions = make_app(db_url)
    client = app.test_client()
    assert client.get("/write/kept").status_code == 200
    assert client.get("/write/dropped").status_code == 200
    assert failures(db_url) == ["kept"]
    first, second = sessions
    assert first is not second  # a new session for each request


def test_the_session_is_closed_when_the_request_ends(db_url: str) -> None:
    app, sessions = make_app(db_url)
    app.test_client().get("/write/dropped")
    (session,) = sessions
    assert not session.in_transaction()
    with session_scope(db_url) as check:
        assert check.scalar(select(func.count()).select_from(AuthFailure)) == 0
