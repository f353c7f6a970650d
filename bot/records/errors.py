"""Every error the records package raises on purpose, in two families.

- :class:`RecordsError` and its subclasses: a caller (an action, the gateway)
  passed something malformed or named a row that does not exist. Messages are
  for developers, in English, and name the argument at fault.
- :class:`DeskError` and its subclasses: a staff member's request on the desk
  was refused. ``code`` names the reason (``"not_owner"``, ``"reply_too_long"``…),
  which the desk shows as a Chinese message; ``status`` is the HTTP status the
  desk answers with. Nothing is written when one is raised.
"""
from __future__ import annotations

from typing import Any


class RecordsError(Exception):
    """Base class of the errors raised to developers (bad arguments, missing rows)."""


class RecordsValidationError(RecordsError, ValueError):
    """An argument is malformed or out of range; the message names it."""


class RecordNotFoundError(RecordsError, LookupError):
    """A row the caller named (by id or number) does not exist."""


class TicketAllocationError(RecordsError):
    """No complaint ticket number could be allocated (retries or daily range exhausted)."""


class DeskError(Exception):
    """A desk request refused on purpose; ``code`` names the reason for the UI."""

    status = 400

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class DeskValidationError(DeskError):
    """Bad input: empty, too long, malformed."""


class DeskPermissionError(DeskError):
    """The actor's role or ownership does not allow this."""

    status = 403


class DeskConflictError(DeskError):
    """The record is not in a state that allows this (e.g. a lifecycle move)."""

    status = 409


class DeskNotFoundError(DeskError):
    """The named record does not exist."""

    status = 404
