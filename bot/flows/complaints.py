"""``flows/complaint_categories.yml``: the complaint categories and how a reply maps to one."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from bot.flows.loader import FLOWS_DIR, FlowsError, load_yaml, require, unique


@dataclass(frozen=True)
class ComplaintCategory:
    code: str
    key: str
    label: str
    keywords: tuple[str, ...]


@functools.lru_cache(maxsize=None)
def complaint_categories(flows_dir: Path = FLOWS_DIR) -> tuple[ComplaintCategory, ...]:
    """The complaint categories of ``flows/complaint_categories.yml``, in menu order."""
    where = str(flows_dir / "complaint_categories.yml")
    raw = load_yaml("complaint_categories.yml", flows_dir).get("categories")
    if not isinstance(raw, list) or not raw:
        raise FlowsError(f"{where}: 'categories' must be a non-empty list")
    result = []
    for index, item in enumerate(raw):
        here = f"{where}: categories[{index}]"
        if not isinstance(item, dict):
            raise FlowsError(f"{here}: must be a mapping")
        result.append(
            ComplaintCategory(
                code=str(require(item, "code", here)),
                key=str(require(item, "key", here)),
                label=str(require(item, "label", here)),
                keywords=tuple(str(k) for k in item.get("keywords") or ()),
            )
        )
    unique([c.code for c in result], "code", where)
    unique([c.key for c in result], "key", where)
    unique([c.label for c in result], "label", where)
    return tuple(result)


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
