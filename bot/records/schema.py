"""The whole records schema: every model module loaded, so ``metadata`` has every table.

The schema is owned by the model modules (:mod:`~bot.records.account_models`,
:mod:`~bot.records.service_models`, :mod:`~bot.records.staff_models`,
:mod:`~bot.records.voice_models`, :mod:`~bot.records.learning_models`,
:mod:`~bot.records.knowledge_models`), which
share :mod:`bot.records.base`. Import :data:`metadata` from here wherever the schema is needed as a whole: the
Alembic environment and :func:`bot.records.migrate.schema_diff` (the check that
the migrations and the models agree), and the demo seed's ``--reset``.
Importing this module creates no engine.
"""
from __future__ import annotations

from bot.records import (
    account_models,
    knowledge_models,
    learning_models,
    service_models,
    staff_models,
    voice_models,
)
from bot.records.base import Base

MODEL_MODULES = (account_models, service_models, staff_models, voice_models, learning_models,
                 knowledge_models)

metadata = Base.metadata
