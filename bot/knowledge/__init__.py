"""The policy knowledge base (政策知识库) outside the records: content rules, seed files, training.

- :mod:`.content`: what a version is and the rules it meets (stdlib only);
- :mod:`.seed`: the seed files ``knowledge/*.yml`` read and checked;
- :mod:`.release`: "retrain and publish": training data exported from the
  knowledge base, a model trained, measured and loaded into every Rasa replica;
- ``python -m bot.knowledge seed|export|report``.

The records side (tables, the answer in force, drafts and approval) is
:mod:`bot.records.knowledge` and :mod:`bot.records.knowledge_editing`.
"""
