"""The knowledge base as it ships: every topic answered, completely, from dated sources.

Reads the seed files (``knowledge/*.yml``) and the records they load into
(the seeded databases of tests/conftest.py, SQLite and PostgreSQL).
"""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.knowledge.content import (
    CATEGORIES,
    SPOKEN_MAX,
    Content,
    deferrals,
    problems,
)
from bot.knowledge.seed import SEED_DIR, SeedError, read_seed
from bot.records import knowledge
from bot.records.clock import SHANGHAI
from bot.records.db import session_scope
from bot.records.knowledge_models import PolicyVersion, VersionStatus

TOPICS = read_seed()


def test_at_least_sixty_topics_across_every_category() -> None:
    assert len(TOPICS) >= 60
    assert {t.category for t in TOPICS} == set(CATEGORIES)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.key)
def test_every_version_meets_the_approval_rules(topic) -> None:
    for version in topic.versions:
        assert problems(version.content, effective_from=version.effective_from,
                        effective_until=version.effective_until, for_approval=True) == []
        assert len(version.content.spoken_text) <= SPOKEN_MAX


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.key)
def test_a_topic_is_answered_today_and_after_its_temporary_rules_end(topic) -> None:
    for day in (date(2026, 11, 29), date(2026, 12, 31), date(2027, 1, 1), date(2028, 6, 1)):
        in_force = [v for v in topic.versions
                    if v.effective_from <= day and (v.effective_until is None
                                                    or day <= v.effective_until)]
        assert in_force, f"{topic.key} has no version in force on {day}"


def test_the_deferral_check_catches_what_the_old_answers_said() -> None:
    old = ("提取住房公积金需要的材料，因提取类型不同而不同，这里暂时不能可靠地为您列出完整清单。"
           "请先拨打96319转人工，说明您的提取类型，工作人员会一次告知需要准备的全部材料。")
    assert len(deferrals(old)) >= 2
    assert deferrals("具体额度以审批结果为准，详见中心网站。") == []


def test_a_seed_file_with_a_fault_is_refused_with_its_place(tmp_path: Path) -> None:
    document = yaml.safe_load((SEED_DIR / "loan.yml").read_text(encoding="utf-8"))
    document["topics"][0]["versions"][0]["sources"][0]["date"] = None
    (tmp_path / "loan.yml").write_text(yaml.safe_dump(document, allow_unicode=True),
                                       encoding="utf-8")
    with pytest.raises(SeedError, match=r"loan.yml loan_conditions version 1: .*缺少日期"):
        read_seed(tmp_path)


def test_no_served_answer_defers_a_public_fact_to_a_person(seeded_db_url: str) -> None:
    """Every approved version in the records, in every channel's text."""
    with session_scope(seeded_db_url) as session:
        versions = session.scalars(select(PolicyVersion).where(
            PolicyVersion.status == VersionStatus.approved)).all()
        assert len(versions) >= 60
        for version in versions:
            for text in (version.full_text, version.spoken_text, version.sms_text):
                assert deferrals(text) == [], (version.topic.key, text)
            assert version.sources and all(s.get("date") for s in version.sources)


def test_every_seed_topic_is_served_from_the_records_today_and_in_2027(seeded_db_url: str) -> None:
    with session_scope(seeded_db_url) as session:
        for day in (date(2026, 11, 29), date(2027, 1, 1)):
            now = datetime.combine(day, time(9), tzinfo=SHANGHAI)
            missing = [t.key for t in TOPICS
                       if knowledge.answer_in_force(session, t.key, now) is None]
            assert missing == [], f"no answer in force on {day}"
        expired = knowledge.answer_in_force(
            session, "loan_rate", datetime.combine(date(2027, 1, 1), time(0), tzinfo=SHANGHAI))
        assert expired is not None and "2026年12月31日" in expired.full_text


def test_content_without_sources_is_not_approvable() -> None:
    bare = Content(full_text="文字", spoken_text="文字", sms_text="【成都住房公积金】文字")
    assert "至少要有一条政策来源。" in problems(bare, effective_from=date(2027, 1, 1),
                                            for_approval=True)
