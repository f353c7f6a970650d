"""Column types shared by the models: UTC timestamps and money.

``UTCDateTime`` stores UTC and always gives back aware UTC datetimes, on
PostgreSQL (``timestamp with time zone``) and on SQLite (which has no time-zone
type: the value is stored as naive UTC text and made aware again on load).

``Money`` is ``Numeric(14, 2)`` returning ``Decimal`` quantised to cents. On
SQLite, which keeps numbers as binary floats, the value is read as a float
and turned back into the exact cents (14 significant digits always survive
a double), so no float ever reaches application code.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENTS = Decimal("0.01")


def to_money(value: Any) -> Decimal:
    """Turn an int, str or Decimal into a Decimal rounded half-up to cents.

    Floats are refused: money never passes through binary floating point.
    """
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, not float")
    if isinstance(value, bool):
        raise TypeError("money must be Decimal, int or str, not bool")
    return Decimal(value).quantize(CENTS, rounding=ROUND_HALF_UP)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC.

    Naive datetimes are refused on the way in: they are ambiguous, and a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("UTCDateTime refuses naive datetimes; pass an aware one")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(TypeDecorator[Decimal]):
    """``Numeric(14, 2)`` as ``Decimal``, exact to the cent on every backend."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Read the float ourselves (see process_result_value) instead of
            # letting Numeric warn about non-native decimals on every query.
            return dialect.type_descriptor(Numeric(14, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(14, 2))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        money = to_money(value)
        if dialect.name == "sqlite":
            return str(money)
        return money

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            # repr() gives the shortest string that round-trips the double,
            # which is the stored decimal for up to 15 significant digits.
            return Decimal(repr(value)).quantize(CENTS, rounding=ROUND_HALF_UP)
        return Decimal(value).quantize(CENTS, rounding=ROUND_HALF_UP)


class Rate(TypeDecorator[Decimal]):
    """A rate as a fraction (``0.02600`` for 2.6 %), ``Numeric(7, 5)``, exact."""

    impl = Numeric(7, 5)
    cache_ok = True
    _PLACES = Decimal("0.00001")

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(7, 5, asdecimal=False))
        return dialect.type_descriptor(Numeric(7, 5))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("rates must be Decimal or str, not float")
        rate = Decimal(value).quantize(self._PLACES, rounding=ROUND_HALF_UP)
        return str(rate) if dialect.name == "sqlite" else rate

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        raw = repr(value) if isinstance(value, float) else value
        return Decimal(raw).quantize(self._PLACES, rounding=ROUND_HALF_UP)
