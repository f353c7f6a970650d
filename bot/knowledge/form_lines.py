"""The desk editor's line formats: links and sources, one per line, fields split by ``|``.

Pure, stdlib only. Links are ``标题|网址``; sources are
``出处|等级|日期|网址|已确认`` with two optional trailing fields, the day the
rule took effect and its last day (``…|施行日期|截止日期``), so that a source
copied from an approved version keeps all it had. Parsing returns what it
could read and the numbers (from 1) of the lines it could not; checking the
content itself is :func:`bot.knowledge.content.problems`.
"""
from __future__ import annotations

from datetime import date

from bot.knowledge.content import GRADE_NAMES, GRADES, Source, iso

Link = tuple[str, str]  # (title, url)

SEPARATOR = "|"
# The words staff may type for a grade: the code, or its Chinese name with or
# without the parenthesised note (官方 / 第三方汇编 / 中心介绍).
GRADE_WORDS = {
    **{code: code for code in GRADES},
    **{name: code for code, name in GRADE_NAMES.items()},
    **{name.split("（")[0]: code for code, name in GRADE_NAMES.items()},
}
YES_WORDS = frozenset({"是", "已确认", "确认", "y", "yes", "true", "1"})
NO_WORDS = frozenset({"", "否", "未确认", "待确认", "n", "no", "false", "0"})


def _rows(text: str) -> list[tuple[int, list[str]]]:
    return [(number, [field.strip() for field in line.split(SEPARATOR)])
            for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _day(text: str) -> tuple[date | None, bool]:
    """A date typed as 2026-03-20 (or 2026/3/20); (None, True) when blank, ok=False if bad."""
    if not text:
        return None, True
    parts = text.replace("/", "-").replace(".", "-").split("-")
    try:
        year, month, day = (int(part) for part in parts)
        return date(year, month, day), True
    except ValueError:
        return None, False


def parse_links(text: str) -> tuple[tuple[Link, ...], list[int]]:
    """``标题|网址`` per line."""
    links: list[Link] = []
    bad: list[int] = []
    for number, fields in _rows(text):
        if len(fields) != 2 or not fields[0] or not fields[1]:
            bad.append(number)
        else:
            links.append((fields[0], fields[1]))
    return tuple(links), bad


def parse_sources(text: str) -> tuple[tuple[Source, ...], list[int]]:
    """``出处|等级|日期|网址|已确认[|施行日期|截止日期]`` per line (网址 and after optional)."""
    sources: list[Source] = []
    bad: list[int] = []
    for number, fields in _rows(text):
        fields += [""] * (7 - len(fields))
        name, grade_word, day, url, confirmed, effective, until = fields[:7]
        grade = GRADE_WORDS.get(grade_word) or GRADE_WORDS.get(grade_word.lower())
        published, ok_published = _day(day)
        starts, ok_starts = _day(effective)
        ends, ok_ends = _day(until)
        flag = confirmed.lower()
        if (len(fields) > 7 or not name or grade is None or not (ok_published and ok_starts
                and ok_ends) or (flag not in YES_WORDS and flag not in NO_WORDS)):
            bad.append(number)
            continue
        sources.append(Source(source=name, grade=grade, date=published, url=url or None,
                              effective=starts, until=ends, confirmed=flag in YES_WORDS))
    return tuple(sources), bad


def links_text(links: tuple[Link, ...]) -> str:
    return "\n".join(f"{title}{SEPARATOR}{url}" for title, url in links)


def source_line(source: Source) -> str:
    fields = [source.source, GRADE_NAMES.get(source.grade, source.grade).split("（")[0],
              iso(source.date) or "", source.url or "", "是" if source.confirmed else "否"]
    if source.effective or source.until:
        fields += [iso(source.effective) or "", iso(source.until) or ""]
    return SEPARATOR.join(fields)


def sources_text(sources: tuple[Source, ...]) -> str:
    return "\n".join(source_line(source) for source in sources)
