"""Loader and schema of ``flows/``: the menus shared by the phone and chat channels.

Each loader validates its file and raises :class:`FlowsError` naming the file and
the fault, so a broken file stops a process at start instead of mid-call.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from pathlib import Path
from typing import Any

import yaml

FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"


class FlowsError(ValueError):
    """A file under flows/ is missing or malformed."""


@dataclass(frozen=True)
class ComplaintCategory:
    code: str
    key: str
    label: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class RatingLevel:
    score: int
    key: str
    label: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class RatingScale:
    levels: tuple[RatingLevel, ...]
    skip_words: tuple[str, ...]


def _load(name: str, flows_dir: Path) -> dict[str, Any]:
    path = flows_dir / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FlowsError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise FlowsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise FlowsError(f"{path}: top level must be a mapping")
    return data


def _require(item: dict[str, Any], field: str, where: str) -> Any:
    if field not in item or item[field] in (None, ""):
        raise FlowsError(f"{where}: missing '{field}'")
    return item[field]


def _unique(values: list[str], what: str, where: str) -> None:
    seen = [v for v in values if values.count(v) > 1]
    if seen:
        raise FlowsError(f"{where}: duplicate {what}: {sorted(set(seen))}")


@functools.lru_cache(maxsize=None)
def complaint_categories(flows_dir: Path = FLOWS_DIR) -> tuple[ComplaintCategory, ...]:
    """The complaint categories of ``flows/complaint_categories.yml``, in menu order."""
    where = str(flows_dir / "complaint_categories.yml")
    raw = _load("complaint_categories.yml", flows_dir).get("categories")
    if not isinstance(raw, list) or not raw:
        raise FlowsError(f"{where}: 'categories' must be a non-empty list")
    result = []
    for index, item in enumerate(raw):
        here = f"{where}: categories[{index}]"
        if not isinstance(item, dict):
            raise FlowsError(f"{here}: must be a mapping")
        result.append(
            ComplaintCategory(
                code=str(_require(item, "code", here)),
                key=str(_require(item, "key", here)),
                label=str(_require(item, "label", here)),
                keywords=tuple(str(k) for k in item.get("keywords") or ()),
            )
        )
    _unique([c.code for c in result], "code", where)
    _unique([c.key for c in result], "key", where)
    _unique([c.label for c in result], "label", where)
    return tuple(result)


@functools.lru_cache(maxsize=None)
def rating_scale(flows_dir: Path = FLOWS_DIR) -> RatingScale:
    """The satisfaction scale of ``flows/rating.yml``."""
    where = str(flows_dir / "rating.yml")
    raw = _load("rating.yml", flows_dir).get("rating")
    if not isinstance(raw, dict) or not isinstance(raw.get("scale"), list):
        raise FlowsError(f"{where}: 'rating.scale' must be a list")
    levels = []
    for index, item in enumerate(raw["scale"]):
        here = f"{where}: rating.scale[{index}]"
        score = _require(item, "score", here)
        if not isinstance(score, int) or not 1 <= score <= 5:
            raise FlowsError(f"{here}: score must be an integer 1-5")
        levels.append(
            RatingLevel(
                score=score,
                key=str(_require(item, "key", here)),
                label=str(_require(item, "label", here)),
                words=tuple(str(w) for w in item.get("words") or ()),
            )
        )
    _unique([str(level.score) for level in levels], "score", where)
    _unique([level.key for level in levels], "key", where)
    return RatingScale(
        levels=tuple(levels),
        skip_words=tuple(str(w) for w in raw.get("skip_words") or ()),
    )


def match_complaint_category(
    text: str, categories: tuple[ComplaintCategory, ...] | None = None
) -> ComplaintCategory | None:
    """Map what a caller said (a label, a menu key or a description) to a category."""
    categories = categories or complaint_categories()
    said = (text or "").strip()
    if not said:
        return None
    for category in categories:
        if said in (category.label, category.key, category.code):
            return category
    for category in categories:
        if category.label in said:
            return category
    best, best_hits = None, 0
    for category in categories:
        hits = sum(1 for word in category.keywords if word.lower() in said.lower())
        if hits > best_hits:
            best, best_hits = category, hits
    return best


def match_rating(text: str, scale: RatingScale | None = None) -> int | str | None:
    """Return the score 1-5 for a reply, ``"skip"`` if the caller declines, else None.

    A bare digit is a menu key (``1`` = the best level), as on the phone keypad.
    """
    scale = scale or rating_scale()
    said = (text or "").strip()
    if not said:
        return None
    for level in scale.levels:
        if said == level.key or said == level.label:
            return level.score
    if any(word in said for word in scale.skip_words):
        return "skip"
    # Longest words first, so that "非常不满意" is not read as "满意".
    words = sorted(
        ((word, level.score) for level in scale.levels for word in level.words),
        key=lambda pair: -len(pair[0]),
    )
    for word, score in words:
        if word in said:
            return score
    return None


# --------------------------------------------------------------------------- menus

RESERVED_KEYS = {"*"}  # "*" repeats the prompt everywhere
MENU_KEYS = set("0123456789")


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    speech: str
    intent: str | None = None
    text: str | None = None
    submenu: str | None = None
    handover: bool = False


@dataclass(frozen=True)
class Menu:
    name: str
    prompt: str
    items: tuple[MenuItem, ...]

    def item(self, key: str) -> MenuItem | None:
        return next((item for item in self.items if item.key == key), None)


@functools.lru_cache(maxsize=None)
def menus(flows_dir: Path = FLOWS_DIR) -> dict[str, Menu]:
    """All menus of ``flows/menu.yml``, validated (keys, targets, one action each)."""
    where = str(flows_dir / "menu.yml")
    raw = _load("menu.yml", flows_dir).get("menus")
    if not isinstance(raw, dict) or "main" not in raw:
        raise FlowsError(f"{where}: 'menus' must be a mapping with a 'main' menu")
    result: dict[str, Menu] = {}
    for name, body in raw.items():
        here = f"{where}: menus.{name}"
        if not isinstance(body, dict) or not isinstance(body.get("items"), list) or not body["items"]:
            raise FlowsError(f"{here}: needs a non-empty 'items' list")
        items = []
        for index, item in enumerate(body["items"]):
            at = f"{here}.items[{index}]"
            if not isinstance(item, dict):
                raise FlowsError(f"{at}: must be a mapping")
            key = str(_require(item, "key", at))
            if key not in MENU_KEYS:
                raise FlowsError(f"{at}: key {key!r} must be one digit 0-9 ('*' is reserved)")
            targets = [t for t in ("intent", "text", "submenu", "handover") if item.get(t)]
            if len(targets) != 1:
                raise FlowsError(f"{at}: needs exactly one of intent, text, submenu, handover")
            if key == "0" and not item.get("handover"):
                raise FlowsError(f"{at}: key 0 is reserved for a person (handover: true)")
            items.append(
                MenuItem(
                    key=key,
                    label=str(_require(item, "label", at)),
                    speech=str(_require(item, "speech", at)),
                    intent=item.get("intent"),
                    text=item.get("text"),
                    submenu=item.get("submenu"),
                    handover=bool(item.get("handover")),
                )
            )
        _unique([i.key for i in items], "key", here)
        result[name] = Menu(name=name, prompt=str(body.get("prompt") or ""), items=tuple(items))
    for menu in result.values():
        for item in menu.items:
            if item.submenu and item.submenu not in result:
                raise FlowsError(f"{where}: menus.{menu.name} key {item.key}: unknown submenu {item.submenu!r}")
    return result


# --------------------------------------------------------------------------- agents

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
    raw = _load("agents.yml", flows_dir).get("agents")
    if not isinstance(raw, dict):
        raise FlowsError(f"{where}: 'agents' must be a mapping")
    try:
        zone = ZoneInfo(str(raw.get("timezone") or "Asia/Shanghai"))
    except ZoneInfoNotFoundError as exc:
        raise FlowsError(f"{where}: unknown timezone {raw.get('timezone')!r}") from exc
    periods = []
    for index, period in enumerate(raw.get("hours") or []):
        at = f"{where}: agents.hours[{index}]"
        start, end = _clock(_require(period, "start", at), at), _clock(_require(period, "end", at), at)
        if not start < end:
            raise FlowsError(f"{at}: start must be before end")
        periods.append((start, end))
    if not periods:
        raise FlowsError(f"{where}: agents.hours must list at least one period")
    return AgentHours(
        timezone=zone,
        periods=tuple(periods),
        transfer_target=str(_require(raw, "transfer_target", f"{where}: agents")),
    )
