"""``flows/menu.yml``: the service menu, the phone's keys and the chat's quick replies."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml, require, unique

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
    raw = load_yaml("menu.yml", flows_dir).get("menus")
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
            key = str(require(item, "key", at))
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
                    label=str(require(item, "label", at)),
                    speech=str(require(item, "speech", at)),
                    intent=item.get("intent"),
                    text=item.get("text"),
                    submenu=item.get("submenu"),
                    handover=bool(item.get("handover")),
                )
            )
        unique([i.key for i in items], "key", here)
        result[name] = Menu(name=name, prompt=str(body.get("prompt") or ""), items=tuple(items))
    for menu in result.values():
        for item in menu.items:
            if item.submenu and item.submenu not in result:
                raise FlowsError(f"{where}: menus.{menu.name} key {item.key}: unknown submenu {item.submenu!r}")
    return result
