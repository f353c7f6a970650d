"""Records of the 96319 assistant: depositors, accounts, loans, complaints, staff, calls.

One module per topic, owning that topic's reads and writes for every caller
(actions, the gateway's phone line, web chat and desk, the seed):

- schema: ``base`` (declarative base, enum column, ``Channel``) shared by
  ``account_models``, ``service_models``, ``staff_models``, ``voice_models``
  and ``learning_models``;
  ``schema`` loads them all for Alembic; ``migrate`` applies the migrations,
  the only way the schema changes; ``coltypes`` (money, UTC times);
- topics: ``accounts`` (balance, arrears, loan and withdrawal answers),
  ``verification`` (depositor verification and auth tokens), ``complaints``
  (filing, finding, listing, export) and ``complaint_lifecycle`` (what staff do
  to a case), ``handovers`` (hand-overs and callbacks), ``ratings``,
  ``onsite``, ``staff`` (staff accounts and password policy),
  ``staff_sessions`` (desk log-in and sessions), ``audit`` (the desk's audit
  log), ``figures`` (service figures), ``learning`` (the learning inbox: misses
  harvested from the tracker store, labelled, counted, exported) and
  ``misses`` (what counts as a miss);
- shared: ``db`` (engines and ``session_scope``), ``errors``, ``validation``,
  ``identifiers`` and ``passwords`` (pure validation, masking and hashing),
  ``clock``, ``workdays`` (complaint deadlines) and ``seed`` (synthetic demo
  data).

Importing this package opens no database connection.
"""
