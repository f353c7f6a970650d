"""``flows/agents.yml``: when a person is at work, and where a call is transferred."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml, require


@dataclass(frozen=True)
class AgentHours:
    timezone: ZoneInfo
    periods: tuple[tuple[time, time], ...]
    transfer_target: str

    def is_open(self, moment: datetime) -> bool:
        """Whether a person is at work at ``moment`` (aware datetime)."""
        from bot.records.workdays import is_working_day

        local = moment.astimezone(self.timezone)
        if not is_working_day(local.date()):
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.periods)


def _clock(value: object, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError) as exc:
        raise FlowsError(f"{where}: {value!r} is not a HH:MM time") from exc


@functools.lru_cache(maxsize=None)
def agent_hours(flows_dir: Path = FLOWS_DIR) -> AgentHours:
    """Agent working hours and transfer target of ``flows/agents.yml``."""
    where = str(flows_dir / "agents.yml")
    raw = load_yaml("agents.yml", flows_dir).get("agents")
    if not isinstance(raw, dict):
        raise FlowsError(f"{where}: 'agents' must be a mapping")
    try:
        zone = ZoneInfo(str(raw.get("timezone") or "Asia/Shanghai"))
    except ZoneInfoNotFoundError as exc:
        raise FlowsError(f"{where}: unknown timezone {raw.get('timezone')!r}") from exc
    periods = []
    for index, period in enumerate(raw.get("hours") or []):
        at = f"{where}: agents.hours[{index}]"
        start, end = _clock(require(period, "start", at), at), _clock(require(period, "end", at), at)
        if not start < end:
            raise FlowsError(f"{at}: start must be before end")
        periods.append((start, end))
    if not periods:
        raise FlowsError(f"{where}: agents.hours must list at least one period")
    return AgentHours(
        timezone=zone,
        periods=tuple(periods),
        transfer_target=str(require(raw, "transfer_target", f"{where}: agents")),
    )
