"""The 政策知识库 pages' forms and figures: what staff typed, read into records' terms.

Form fields are kept as typed (strings) so a refused form comes back with
everything still in it; :func:`read_draft` turns them into a
:class:`~bot.knowledge.content.Content` and the proposed dates, or names what
could not be read (codes the desk shows in Chinese, ``_labels.html``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from bot.flows.voice import voice_flow
from bot.knowledge.content import Content, lines, web_text
from bot.knowledge.form_lines import links_text, parse_links, parse_sources, sources_text
from bot.records.knowledge_editing import content_of
from bot.records.knowledge_models import PolicyVersion

DRAFT_FIELDS = ("full_text", "materials", "links", "spoken_text", "sms_text", "sources",
                "unconfirmed", "effective_from", "effective_until")
TOPIC_FIELDS = ("key", "category", "title", "ask", "scope", "examples")
REVIEW_FIELDS = ("effective_from", "effective_until", "note")
# Bounds memory only; the limits themselves are checked by the records layer.
MAX_FIELD = 20_000
SPOKEN_CHARS_PER_SECOND = 4.8
SMS_PART_CHARS = 67


@dataclass
class FormErrors:
    """What a form could not be read as: (code, params) pairs and the problems() texts."""

    codes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, code: str, **params: Any) -> None:
        self.codes.append((code, params))

    def __bool__(self) -> bool:
        return bool(self.codes or self.problems)


def typed(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The named fields as typed (cut only to bound memory)."""
    return {name: str(form.get(name) or "")[:MAX_FIELD] for name in names}


def read_day(text: str, errors: FormErrors) -> date | None:
    """A date input's value (YYYY-MM-DD) or None when blank; a bad one is reported."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.add("knowledge_date_invalid", day=text[:20])
        return None


def read_draft(form: Mapping[str, str]) -> tuple[Content, date | None, date | None, FormErrors]:
    """The draft editor's fields as content and proposed dates, with what was unreadable."""
    errors = FormErrors()
    links, bad_links = parse_links(form.get("links", ""))
    sources, bad_sources = parse_sources(form.get("sources", ""))
    for number in bad_links:
        errors.add("knowledge_link_line_invalid", line=number)
    for number in bad_sources:
        errors.add("knowledge_source_line_invalid", line=number)
    content = Content(
        full_text=form.get("full_text", "").strip(),
        spoken_text=" ".join(form.get("spoken_text", "").split()),
        sms_text=form.get("sms_text", "").strip(),
        materials=lines(form.get("materials", "")),
        links=links,
        sources=sources,
        unconfirmed=lines(form.get("unconfirmed", "")),
    )
    start = read_day(form.get("effective_from", ""), errors)
    until = read_day(form.get("effective_until", ""), errors)
    return content, start, until, errors


def draft_form(version: PolicyVersion | None, *, with_dates: bool = True) -> dict[str, str]:
    """The editor's fields filled from ``version`` (empty for a topic without one)."""
    if version is None:
        return {name: "" for name in DRAFT_FIELDS}
    content = content_of(version)
    return {
        "full_text": content.full_text,
        "materials": "\n".join(content.materials),
        "links": links_text(content.links),
        "spoken_text": content.spoken_text,
        "sms_text": content.sms_text,
        "sources": sources_text(content.sources),
        "unconfirmed": "\n".join(content.unconfirmed),
        "effective_from": version.effective_from.isoformat()
        if with_dates and version.effective_from else "",
        "effective_until": version.effective_until.isoformat()
        if with_dates and version.effective_until else "",
    }


def example_lines(text: str) -> list[str]:
    """The distinct example questions typed, one per line (spaces folded)."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        folded = " ".join(line.split())
        if folded:
            seen.setdefault(folded, None)
    return list(seen)


@dataclass(frozen=True)
class Preview:
    """What each channel makes of a version: the web text, and the phone and SMS figures."""

    web: str
    spoken_chars: int
    spoken_seconds: float
    sms_chars: int
    sms_parts: int


def sms_offer() -> str:
    """What the phone says after a policy answer: the offer of ``flows/voice.yml``."""
    policy = voice_flow().policy_answer
    return policy.prompt("offer_sms", key=policy.sms_key)


def preview(version: PolicyVersion) -> Preview:
    """The phone's seconds count the spoken text and the SMS offer read after it."""
    heard = len(version.spoken_text) + len(sms_offer())
    sms = len(version.sms_text)
    return Preview(
        web=web_text(version.full_text, version.materials or ()),
        spoken_chars=len(version.spoken_text),
        spoken_seconds=round(heard / SPOKEN_CHARS_PER_SECOND, 1),
        sms_chars=sms,
        sms_parts=max(math.ceil(sms / SMS_PART_CHARS), 1) if sms else 0,
    )
