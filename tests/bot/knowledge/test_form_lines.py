"""The desk editor's line formats for links and sources: read, written back, bad lines named."""
from __future__ import annotations

from datetime import date

from bot.knowledge.content import Source
from bot.knowledge.form_lines import links_text, parse_links, parse_sources, sources_text


def test_sources_read_chinese_or_code_grades_and_dates() -> None:
    text = ("成公积金〔2026〕12号|官方|2026-03-20|https://cdzfgjj.chengdu.gov.cn|是\n"
            "\n"
            "某汇编|第三方汇编（待确认）|2026/1/2\n"
            "中心介绍页|seed||https://cdzfgjj.chengdu.gov.cn|否|2026-01-01|2026-12-31")
    sources, bad = parse_sources(text)
    assert bad == []
    assert sources[0] == Source("成公积金〔2026〕12号", "official", date(2026, 3, 20),
                                "https://cdzfgjj.chengdu.gov.cn", confirmed=True)
    assert sources[1] == Source("某汇编", "secondary", date(2026, 1, 2))
    assert sources[2].date is None and sources[2].until == date(2026, 12, 31)
    assert parse_sources(sources_text(sources)) == (sources, [])


def test_bad_lines_are_named_by_number() -> None:
    _, bad = parse_sources("无等级\n出处|很好|2026-01-01\n出处|官方|昨天\n出处|官方|2026-01-01||也许\n"
                           "出处|官方|2026-01-01|||||多余")
    assert bad == [1, 2, 3, 4, 5]
    links, bad = parse_links("中心|https://cdzfgjj.chengdu.gov.cn\n只有标题\n|https://x.cn\n")
    assert links == (("中心", "https://cdzfgjj.chengdu.gov.cn"),) and bad == [2, 3]
    assert links_text(links) == "中心|https://cdzfgjj.chengdu.gov.cn"
