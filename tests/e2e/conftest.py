"""The ``stack`` fixture: the real assistant (trained model, actions, records) for the session."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.e2e.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(workdir=tmp_path_factory.mktemp("stack")).start()
    try:
        yield running
    finally:
        running.stop()
