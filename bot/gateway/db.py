"""The records session of one request, shared by every part of the gateway.

:func:`db` opens it on first use (``DATABASE_URL`` of the app's settings) and
keeps it in :data:`flask.g`; when the request ends it is rolled back (whatever
was not committed on purpose) and closed. A view that changes records owns its
transaction: it calls ``db().commit()`` when the change is complete, before it
answers. Query functions take the session as their first argument and never
commit (``bot.records``).
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from bot.records.db import get_sessionmaker
from bot.records.errors import DeskError, DeskNotFoundError

G_KEY = "records_db"


def db() -> Session:
    """The records session of this request (opened on first use, closed at teardown)."""
    session = g.get(G_KEY)
    if session is None:
        url = current_app.config["HOTLINE_SETTINGS"].database_url
        session = get_sessionmaker(url)()
        setattr(g, G_KEY, session)
    return session


def commit_or_refusal(change: Callable[[], Any]) -> DeskError | None:
    """Run one desk change in the request's session and commit it.

    Returns None when it was committed, or the refusal (a
    :class:`~bot.records.errors.DeskError`) after rolling back, for the view to
    show with what was typed. A missing record is rolled back and raised: the
    desk's 404 page.
    """
    try:
        change()
    except DeskNotFoundError:
        db().rollback()
        raise
    except DeskError as exc:
        db().rollback()
        return exc
    db().commit()
    return None


def close_db(_exc: BaseException | None = None) -> None:
    """Roll back what the request did not commit and give the connection back."""
    session = g.pop(G_KEY, None)
    if session is not None:
        session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    """Close the request's session when its application context ends."""
    app.teardown_appcontext(close_db)
