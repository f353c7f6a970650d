"""Fixtures of the outage tests: the real assistant on PostgreSQL and Redis servers of their own.

``outage_stack`` (one per test session: Rasa takes ~15 s and ~600 MB to start)
is :class:`tests.outage.stack.OutageStack`; ``gateway`` serves the gateway in
front of it. Every test leaves both servers running, whatever happens.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.outage.stack import Gateway, OutageStack

# scenario -> (seconds from "store back" to the end of the first normal turn, failed turns before it)
RECOVERY: dict[str, tuple[float, int]] = {}


@pytest.fixture(scope="session")
def outage_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutageStack]:
    stack = OutageStack(workdir=Path(tmp_path_factory.mktemp("outage-stack")))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def gateway(outage_stack: OutageStack) -> Iterator[Gateway]:
    served = outage_stack.gateway()
    try:
        yield served
    finally:
        served.close()


@pytest.fixture(autouse=True)
def _servers_running(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "outage_stack" in request.fixturenames:
        stack: OutageStack = request.getfixturevalue("outage_stack")
        if not stack.postgres.running:
            stack.postgres.start()
        if not stack.redis.running:
            stack.redis.start()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if RECOVERY:
        terminalreporter.section("from the store back to the first normal turn")
        for scenario, (seconds, failed) in RECOVERY.items():
            terminalreporter.write_line(
                f"{scenario:<32} {seconds:6.2f} s (that turn included), {failed} turns failed first")
