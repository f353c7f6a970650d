"""flows/agents.yml: agent hours on working days, the transfer target, faults named."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.flows.agents import agent_hours
from bot.flows.loader import FlowsError


def test_shipped_agent_hours_are_valid() -> None:
    assert agent_hours().transfer_target


def test_agents_work_on_working_days_only() -> None:
    hours = agent_hours()
    assert hours.is_open(datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc))  # Fri 10:00 Beijing
    assert not hours.is_open(datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc))  # Saturday
    assert not hours.is_open(datetime(2026, 11, 27, 13, 0, tzinfo=timezone.utc))  # Fri 21:00
    assert not hours.is_open(datetime(2026, 10, 1, 2, 0, tzinfo=timezone.utc))  # National Day


def test_missing_file_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FlowsError, match="agents.yml: file not found"):
        agent_hours(tmp_path)


def test_bad_agent_hours(flows_file) -> None:  # type: ignore[no-untyped-def]
    flows_dir = flows_file(
        "agents.yml", "agents:\n  hours:\n    - {start: '18:00', end: '09:00'}\n  transfer_target: x")
    with pytest.raises(FlowsError, match="start must be before end"):
        agent_hours(flows_dir)
