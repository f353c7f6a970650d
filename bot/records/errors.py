"""Errors raised by the records package; messages are for developers, in English."""
from __future__ import annotations


class RecordsError(Exception):
    """Base class of every error the records package raises on purpose."""


class RecordsValidationError(RecordsError, ValueError):
    """An argument is malformed or out of range; the message names it."""


class RecordNotFoundError(RecordsError, LookupError):
    """A row the caller named (by id or number) does not exist."""


class TicketAllocationError(RecordsError):
    """No complaint ticket number could be allocated (retries or daily range exhausted)."""
