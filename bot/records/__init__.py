"""Records of the 96319 assistant: depositors, accounts, loans, complaints, auth.

Modules: the schema by noun (``account_models``, ``service_models``,
``staff_models``, ``voice_models``, all on ``base``; ``schema`` loads them
all), ``db`` (engines and ``session_scope``),
``migrate`` (Alembic, the only way the schema changes), ``queries`` (what the
actions and the gateway read and write), ``auth`` (identity verification and
tokens), ``identifiers`` and ``passwords`` (pure validation and hashing),
``workdays`` (complaint deadlines) and ``seed`` (synthetic demo data).

Importing this package opens no database connection.
"""
