"""Records of the 96319 assistant: depositors, accounts, loans, complaints, auth.

Modules: the schema by noun (``account_models``, ``service_models``,
``staff_models``, ``voice_models``, all on ``base``; ``schema`` loads them
all), ``db`` (engines and ``session_scope``), ``migrate`` (Alembic, the only
way the schema changes); one module per topic owning its reads and writes
(``accounts``, ``complaints``, ``handovers``, ``ratings``, ``onsite``,
``verification`` for depositor verification and auth tokens), and
``desk_queries`` for the staff desk; ``identifiers``, ``validation`` and
``passwords`` (pure validation and hashing), ``workdays`` (complaint
deadlines) and ``seed`` (synthetic demo data).

Importing this package opens no database connection.
"""
