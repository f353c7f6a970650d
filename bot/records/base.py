"""What every model module shares: the declarative ``Base``, the enum column, ``Channel``.

Each model module (``account_models``, ``service_models``, ``staff_models``,
``voice_models``, ``learning_models``) imports this one and no other model
module, so they never import each other. :mod:`bot.records.schema` loads them all, for Alembic and
the schema checks. Importing this module creates no engine.

Conventions of every table: money is ``Money`` (``Numeric(14, 2)`` as
``Decimal``), times are ``UTCDateTime`` (aware, UTC), enumerations are stored
as their English codes in a ``VARCHAR`` with a CHECK constraint made by
:func:`enum_column` (no native PostgreSQL enum types, so a new code is a plain
migration), and constraints are named by :data:`NAMING_CONVENTION`.
"""
from __future__ import annotations

import enum

from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention for every constraint."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def enum_column(enum_class: type[enum.Enum], column: str) -> Enum:
    """A non-native enum storing the member values (the English codes).

    ``column`` names the CHECK constraint: ``ck_<table>_<column>``.
    """
    return Enum(
        enum_class,
        name=column,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Channel(str, enum.Enum):
    """Where a conversation came from (complaints, ratings, hand-overs, auth sessions…)."""

    voice = "voice"
    webchat = "webchat"
    rest = "rest"
    other = "other"
