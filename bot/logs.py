"""Logging of the application processes: one JSON object per line, no personal data.

- :class:`RedactFilter` masks personal data in every record before any handler
  writes it: the message with its arguments merged in, and an exception's text,
  through :func:`bot.records.redaction.redact_text` (phone, ID, fund account
  and card numbers, any run of seven or more digits, reference numbers and
  amounts; the center's published numbers stay). Its import is light: the
  gateway and the action server load it anyway.
- :class:`RequestFilter` adds the request id and a conversation reference to
  records logged while the gateway handles a request (see :func:`bind_conversation`:
  a keyed hash of the conversation id, never the id itself).
- :class:`JsonFormatter`: ``{"time", "level", "logger", "message"[, "request_id",
  "conversation", "exception"]}``; :class:`AccessFormatter` writes gunicorn's
  access records from a few chosen fields (method, path without its query
  string, status, duration, bytes, request id): never the query string, the
  referrer, the client's address, cookies or headers.
- :func:`configure_logging` (``create_app`` and ``python -m actions.serve``)
  sets the root logger up unless the host process already did (pytest,
  gunicorn with :func:`gunicorn_logconfig_dict`).

``LOG_FORMAT`` (``json`` or ``text``; default json in production, text
otherwise) and ``LOG_LEVEL`` are read by :mod:`bot.settings`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

from bot.records.redaction import redact_text

FORMATS = ("json", "text")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STAFF_PATH = re.compile(r"(/desk/staff/)[^/]+")
# A query password is never logged; should one slip into a message next to its
# name, its six digits go too (redact_text masks runs of seven or more).
_PASSWORD = re.compile(r"((?:密码|password|passwd|pin)\W{0,12})[0-9]{6}(?![0-9])", re.IGNORECASE)
_conversation_key = b"hotline-log-reference"


def conversation_reference(conversation_id: str) -> str:
    """A stable 12-hex-digit reference of a conversation: HMAC-SHA256 under the key
    :func:`configure_logging` derived from ``SECRET_KEY``. The same conversation
    gets the same reference in every line and process; the id is not in it."""
    digest = hmac.new(_conversation_key, conversation_id.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:12]


def bind_conversation(conversation_id: str | None) -> None:
    """Mark the current request's log lines with ``conversation_reference(id)``."""
    from flask import g, has_request_context

    if conversation_id and has_request_context():
        g.log_conversation = conversation_reference(conversation_id)


def mask(text: str) -> str:
    """``text`` with personal data masked: :func:`redact_text` and a password by its name."""
    return _PASSWORD.sub(r"\1******", redact_text(text))


def safe_path(path: str) -> str:
    """A URL path as it may be logged: personal data masked, staff names left out."""
    return mask(_STAFF_PATH.sub(r"\1…", path or ""))


class RedactFilter(logging.Filter):
    """Masks personal data in the message (arguments merged in) and the exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False) or record.name == "gunicorn.access":
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string still gets logged
            message = f"{record.msg!r} (arguments left out)"
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        record.exc_info = None  # its text is kept, masked, in exc_text
        record.stack_info = mask(record.stack_info) if record.stack_info else None
        record._redacted = True
        return True


class RequestFilter(logging.Filter):
    """Adds ``request_id`` and ``conversation`` from the gateway request being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from flask import g, has_request_context

            if has_request_context():
                record.request_id = g.get("request_id")
                record.conversation = g.get("log_conversation")
        except ImportError:  # the action server has no Flask request
            pass
        return True


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (UTF-8, Chinese as is)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "conversation"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields of a gunicorn access record (its arguments are gunicorn's atoms)."""
    atoms = record.args if isinstance(record.args, dict) else {}

    def atom(key: str) -> Any:
        value = atoms.get(key)
        return None if value in (None, "-") else value

    request_id = atom("{x-request-id}o")
    return {
        "method": atom("m"),
        "path": safe_path(atom("U") or ""),
        "status": int(atom("s")) if str(atom("s") or "").isdigit() else atom("s"),
        "duration_ms": atom("M"),
        "bytes": atom("B"),
        "request_id": request_id if request_id and REQUEST_ID.match(str(request_id)) else None,
    }


class AccessFormatter(logging.Formatter):
    """gunicorn's access log from chosen fields only, as JSON or as one text line."""

    def __init__(self, style_name: str = "json") -> None:
        super().__init__()
        self.as_json = style_name == "json"

    def format(self, record: logging.LogRecord) -> str:
        fields = access_fields(record)
        if self.as_json:
            entry = {"time": _time(record), "level": record.levelname, "logger": record.name,
                     "message": f"{fields['method']} {fields['path']} {fields['status']}"}
            entry.update({key: value for key, value in fields.items() if value is not None})
            return json.dumps(entry, ensure_ascii=False, default=str)
        return "{time} access {method} {path} {status} {duration_ms}ms {request_id}".format(
            time=_time(record), **{key: "-" if value is None else value
                                   for key, value in fields.items()})


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def set_conversation_key(secret_key: str) -> None:
    global _conversation_key
    _conversation_key = hmac.new(secret_key.encode("utf-8"), b"log-conversation-reference",
                                 hashlib.sha256).digest()


def configure_logging(log_format: str, level: str, secret_key: str, *, force: bool = False) -> bool:
    """Log to standard error in ``log_format`` at ``level``, personal data masked.

    Leaves a root logger that already has handlers alone (the host configured
    logging: pytest, or gunicorn through :func:`gunicorn_logconfig_dict`) unless
    ``force``; returns whether it configured it.
    """
    set_conversation_key(secret_key)
    root = logging.getLogger()
    if root.handlers and not force:
        return False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(RedactFilter())
    handler.addFilter(RequestFilter())
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return True


def adopt_root_handlers(log_format: str | None) -> None:
    """Mask personal data in whatever handlers the root logger already has (the
    action server's, set up by rasa_sdk) and, for ``json``, write them as JSON."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(each, RedactFilter) for each in handler.filters):
            handler.addFilter(RedactFilter())
        if (log_format or "").strip().lower() == "json":
            handler.setFormatter(JsonFormatter())


def gunicorn_logconfig_dict(log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its error log and the application's records
    through the masking filters in ``log_format``, its access log through
    :class:`AccessFormatter`, all to standard error / standard output."""
    filters = ["redact", "request"]
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": "bot.logs.RedactFilter"},
            "request": {"()": "bot.logs.RequestFilter"},
        },
        "formatters": {
            "json": {"()": "bot.logs.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
            "access": {"()": "bot.logs.AccessFormatter", "style_name": log_format},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                        "formatter": formatter, "filters": filters},
            "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                       "formatter": "access"},
        },
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False,
                               "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False,
                                "qualname": "gunicorn.access"},
        },
    }
