"""Fixtures of the release tests: one tiny assistant, one Rasa server and one records DB per module.

Training and evaluation are real (``rasa train``, ``scripts/eval_nlu.py``) and
take about 25 s each, so the module shares them: the Rasa server starts
while the first model trains (``rasa_server``), and one release is published
(``published`` in test_release.py) for the tests that need a model in service.
These records live in a SQLite file of the module; the tests of the records
rules alone use ``db_url`` (SQLite and PostgreSQL).
"""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.knowledge import replicas, training
from bot.knowledge.release import ReleaseSetup
from bot.records.db import dispose_engines
from bot.records.migrate import upgrade
from tests.bot.knowledge.tiny import (
    TINY_CONFIG,
    TOKEN,
    RasaServer,
    Tiny,
    start_rasa,
    wait_up,
    write_tiny,
)
from tests.e2e.stack import RASA


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    return write_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def rasa_server(tiny: Tiny) -> Iterator[RasaServer]:
    """A Rasa replica serving the initial model (started while that model trains)."""
    server = start_rasa(tiny)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            model = pool.submit(training.train, RASA, config=TINY_CONFIG, domain=tiny.domain,
                                data=tiny.data, out=tiny.models, name="initial")
            wait_up(server)
            replicas.load_model(server.url, TOKEN, model.result())
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def records_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('release-records') / 'records.db'}"
    upgrade(url)
    yield url
    dispose_engines()


@pytest.fixture(scope="module")
def setup(tiny: Tiny, rasa_server: RasaServer, records_url: str) -> ReleaseSetup:
    return ReleaseSetup(database_url=records_url, replica_urls=(rasa_server.url,),
                        rasa_token=TOKEN, rasa=RASA, config=TINY_CONFIG,
                        models_dir=tiny.releases, rasa_model_dir=tiny.models,
                        data_dir=tiny.data, domain=tiny.domain, eval_sets=(tiny.held_out,))
