"""Reading a file of ``flows/``: the YAML loader and the checks every loader shares.

Every fault is a :class:`FlowsError` whose message starts with the file (and,
where known, the entry) at fault, so a broken file stops a process at start
with a message that says what to fix, instead of failing mid-call.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
"""The project's ``flows/`` directory (the default of every loader)."""


class FlowsError(ValueError):
    """A file under flows/ is missing or malformed."""


def load_yaml(name: str, flows_dir: Path = FLOWS_DIR) -> dict[str, Any]:
    """The top-level mapping of ``flows_dir / name``.

    Raises:
        FlowsError: the file is missing, is not YAML, or is not a mapping.
    """
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


def require(item: dict[str, Any], field: str, where: str) -> Any:
    """``item[field]``, which must be present and not empty."""
    if field not in item or item[field] in (None, ""):
        raise FlowsError(f"{where}: missing '{field}'")
    return item[field]


def unique(values: list[str], what: str, where: str) -> None:
    """Refuse a list in which a value (a key, a code) appears twice."""
    seen = [v for v in values if values.count(v) > 1]
    if seen:
        raise FlowsError(f"{where}: duplicate {what}: {sorted(set(seen))}")
