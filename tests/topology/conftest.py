"""The ``topology`` fixture: the production topology on free ports (tests/topology/topology.py)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.topology.topology import Topology


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    running = Topology(tmp_path_factory.mktemp("topology"))
    try:
        yield running.start()
    finally:
        running.stop()
