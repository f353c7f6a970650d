"""The seed files ``knowledge/*.yml``: read, checked, and turned into :class:`SeedTopic`.

The format is described in ``knowledge/README.md``. A fault stops with a
:class:`SeedError` naming the file, the topic and what is wrong; every
version must pass the approval rules (:func:`bot.knowledge.content.problems`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.content import (
    CATEGORIES,
    KEY_RE,
    Content,
    SeedTopic,
    SeedVersion,
    Source,
    as_date,
    problems,
)

SEED_DIR = Path(__file__).resolve().parents[2] / "knowledge"


class SeedError(ValueError):
    """A seed file that cannot be loaded as it is."""


def _texts(raw: Any) -> tuple[str, ...]:
    return tuple(str(item).strip() for item in raw or () if str(item).strip())


def _version(raw: dict[str, Any], where: str) -> SeedVersion:
    links = tuple((str(link.get("title") or "").strip(), str(link.get("url") or "").strip())
                  for link in raw.get("links") or ())
    content = Content(
        full_text=str(raw.get("full_text") or "").strip(),
        spoken_text=str(raw.get("spoken_text") or "").strip(),
        sms_text=str(raw.get("sms_text") or "").strip(),
        materials=_texts(raw.get("materials")),
        links=links,
        sources=tuple(Source.from_dict(source) for source in raw.get("sources") or ()),
        unconfirmed=_texts(raw.get("unconfirmed")),
    )
    start, until = as_date(raw.get("effective_from")), as_date(raw.get("effective_until"))
    found = problems(content, effective_from=start, effective_until=until, for_approval=True)
    if found:
        raise SeedError(f"{where}: " + " ".join(found))
    assert start is not None  # checked by problems(for_approval=True)
    return SeedVersion(content=content, effective_from=start, effective_until=until)


def read_seed(directory: Path = SEED_DIR) -> list[SeedTopic]:
    """Every topic of every category file, checked; keys are unique across files."""
    topics: list[SeedTopic] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        category = document.get("category")
        if category not in CATEGORIES:
            raise SeedError(f"{path.name}: unknown category {category!r}")
        for raw in document.get("topics") or ():
            key = str(raw.get("key") or "")
            where = f"{path.name} {key}"
            if not KEY_RE.fullmatch(key) or key in seen:
                raise SeedError(f"{where}: the key is malformed or used twice")
            seen.add(key)
            versions = tuple(_version(v, f"{where} version {n}")
                             for n, v in enumerate(raw.get("versions") or (), start=1))
            if not versions:
                raise SeedError(f"{where}: no answer version")
            topics.append(SeedTopic(
                key=key, category=category, title=str(raw.get("title") or "").strip(),
                ask=str(raw.get("ask") or "").strip(), scope=str(raw.get("scope") or "").strip(),
                versions=versions,
            ))
    return topics
