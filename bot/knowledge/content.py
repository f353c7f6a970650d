"""What a policy answer version must be: its parts, and the rules every version meets.

Pure, stdlib only (used by the seed loader, the desk editor, the approval rule
and the tests). A version has a full text for the web chat (the materials are
listed under it), a spoken text for the phone, an SMS text, links, sources and
the facts still to be confirmed; :func:`problems` names everything that keeps
it from being approved, in the Chinese the desk shows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping

SPOKEN_MAX = 120   # about 25 seconds on the phone
SMS_MAX = 350      # a long SMS of six parts at most
FULL_MAX = 3000
MATERIALS_MAX = 30
SMS_PREFIX = "【成都住房公积金】"
# What the phone says after the spoken text when an SMS of the answer can follow.
GRADES = ("official", "secondary", "seed")
GRADE_NAMES = {"official": "官方", "secondary": "第三方汇编（待确认）", "seed": "中心介绍（待确认）"}
CATEGORIES = ("缴存", "提取", "贷款", "账户与查询", "渠道与网点", "单位业务", "投诉监督")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{2,59}$")

# An answer that sends the depositor to a person for what it should say itself.
# 一次告知: where a fact is public the answer gives it; where no source gives
# it, the answer names it precisely ("具体额度以审批结果为准").
DEFERRALS = (
    re.compile(r"不能可靠地?(为您|给您|帮您)?(列出|列全|告诉|提供|判断|说明)"),
    re.compile(r"(暂时|目前)?(无法|不能)(为您|给您)?(完整|准确)?(列出|列全)"),
    re.compile(r"(转人工|人工客服|工作人员)[^。；]{0,12}(一次告知|告知|列出)[^。；]{0,8}(材料|清单)"),
    re.compile(r"(材料|清单)[^。；]{0,16}(请|建议)[^。；]{0,6}(拨打|致电)96319"),
)


@dataclass(frozen=True)
class Source:
    source: str
    grade: str
    date: date | None
    url: str | None = None
    effective: date | None = None
    until: date | None = None
    confirmed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "grade": self.grade,
            "date": iso(self.date), "url": self.url, "effective": iso(self.effective),
            "until": iso(self.until), "confirmed": self.confirmed,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Source:
        return cls(
            source=str(raw.get("source") or "").strip(),
            grade=str(raw.get("grade") or "").strip(),
            date=as_date(raw.get("date")),
            url=(str(raw["url"]).strip() or None) if raw.get("url") else None,
            effective=as_date(raw.get("effective")),
            until=as_date(raw.get("until")),
            confirmed=bool(raw.get("confirmed")),
        )


@dataclass(frozen=True)
class Content:
    """The words of one answer version, as staff write them."""

    full_text: str
    spoken_text: str
    sms_text: str
    materials: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()          # (title, url)
    sources: tuple[Source, ...] = ()
    unconfirmed: tuple[str, ...] = ()

    @property
    def grade(self) -> str:
        """The weakest grade among the sources (official < seed < secondary in trust)."""
        grades = {s.grade for s in self.sources}
        for weakest in ("secondary", "seed", "official"):
            if weakest in grades:
                return weakest
        return ""

    @property
    def links_json(self) -> list[dict[str, str]]:
        return [{"title": title, "url": url} for title, url in self.links]

    @property
    def sources_json(self) -> list[dict[str, Any]]:
        return [source.as_dict() for source in self.sources]


@dataclass(frozen=True)
class SeedVersion:
    content: Content
    effective_from: date
    effective_until: date | None


@dataclass(frozen=True)
class SeedTopic:
    key: str
    category: str
    title: str
    ask: str
    scope: str
    versions: tuple[SeedVersion, ...] = field(default_factory=tuple)


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def as_date(value: Any) -> date | None:
    """A YAML date, an ISO string, or None; anything else is None."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def lines(text: str) -> tuple[str, ...]:
    """One item per non-empty line (the desk's text areas for materials and facts)."""
    return tuple(line.strip(" \t-•·") for line in text.splitlines() if line.strip(" \t-•·"))


def deferrals(text: str) -> list[str]:
    """The passages of ``text`` that defer a fact to a person instead of stating it."""
    return [m.group(0) for pattern in DEFERRALS for m in pattern.finditer(text)]


def problems(content: Content, *, effective_from: date | None = None,
             effective_until: date | None = None, for_approval: bool = False) -> list[str]:
    """What keeps ``content`` from being saved (or, ``for_approval``, approved)."""
    found: list[str] = []
    if not content.full_text.strip():
        found.append("网页答复不能为空。")
    elif len(content.full_text) > FULL_MAX:
        found.append(f"网页答复不能超过{FULL_MAX}字。")
    if not content.spoken_text.strip():
        found.append("电话播报不能为空。")
    elif len(content.spoken_text) > SPOKEN_MAX:
        found.append(f"电话播报最多{SPOKEN_MAX}字（约25秒），现在是{len(content.spoken_text)}字。")
    if re.search(r"https?://|www\.|\.gov\.cn", content.spoken_text):
        found.append("电话播报里不要读网址，请写“中心官方网站”。")
    if not content.sms_text.startswith(SMS_PREFIX):
        found.append(f"短信要以{SMS_PREFIX}开头。")
    if len(content.sms_text) > SMS_MAX:
        found.append(f"短信最多{SMS_MAX}字，现在是{len(content.sms_text)}字。")
    if len(content.materials) > MATERIALS_MAX:
        found.append(f"材料清单最多{MATERIALS_MAX}项。")
    for title, url in content.links:
        if not title or not re.fullmatch(r"https://[^\s\"'<>]{4,300}", url):
            found.append(f"链接“{title or url}”须有标题，且以https://开头。")
    for text in (content.full_text, content.spoken_text, content.sms_text):
        for passage in deferrals(text):
            found.append(f"“{passage}”：公开的信息请直接写明，不要让群众再去问人工。")
    if effective_until and effective_from and effective_until < effective_from:
        found.append("失效日期不能早于生效日期。")
    if for_approval:
        if not content.sources:
            found.append("至少要有一条政策来源。")
        for source in content.sources:
            if not source.source:
                found.append("每条来源都要写明出处。")
            if source.grade not in GRADES:
                found.append(f"来源“{source.source}”的等级须为官方、第三方汇编或中心介绍。")
            if source.date is None:
                found.append(f"来源“{source.source}”缺少日期。")
        if effective_from is None:
            found.append("批准时要填写生效日期。")
    return found


def in_force(effective_from: date | None, effective_until: date | None, day: date) -> bool:
    return (effective_from is not None and effective_from <= day
            and (effective_until is None or day <= effective_until))


def web_text(full_text: str, materials: Iterable[str]) -> str:
    """The web chat's answer: the full text, then the materials as a numbered list."""
    items = [m for m in materials if m]
    if not items:
        return full_text.strip()
    listed = "\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))
    return f"{full_text.strip()}\n\n需要准备的材料：\n{listed}"
