"""The knowledge base's records: the version in force by the day, the approval rule, usage.

Runs on SQLite and PostgreSQL (``db_session``). Time is a fixed clock: every
function takes ``now``.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.knowledge.content import Content, SeedTopic, SeedVersion, Source
from bot.records import knowledge, knowledge_editing as editing
from bot.records.clock import SHANGHAI
from bot.records.errors import (
    DeskConflictError,
    DeskPermissionError,
    DeskValidationError,
)
from bot.records.knowledge_models import TopicStatus, VersionStatus
from bot.records.staff_models import DeskAuditEvent, StaffRole
from tests.bot.records.conftest import add_staff

SOURCE = Source(source="成公积金〔2026〕12号", grade="official", date=date(2026, 3, 20),
                effective=date(2026, 3, 25), until=date(2026, 12, 31), confirmed=True)


def content(text: str, **changes) -> Content:
    base = Content(
        full_text=f"{text}。申请时请带好材料，到中心柜台或成都公积金App办理。",
        spoken_text=f"{text}，详细内容可以发短信给您。",
        sms_text=f"【成都住房公积金】{text}。",
        materials=("本人身份证",),
        links=(("成都住房公积金管理中心", "https://cdzfgjj.chengdu.gov.cn"),),
        sources=(SOURCE,),
    )
    return replace(base, **changes)


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def seed_topic(session, key: str = "loan_times") -> None:
    editing.load_seed(session, [SeedTopic(
        key=key, category="贷款", title="贷款次数", ask="公积金能贷几次", scope="贷款次数",
        versions=(
            SeedVersion(content("阶段性政策：不限贷款次数"), date(2026, 3, 25), date(2026, 12, 31)),
            SeedVersion(content("阶段性政策已于2026年12月31日到期"), date(2027, 1, 1), None),
        ),
    )], now=beijing(2026, 11, 29, 9))
    session.commit()


def test_the_version_in_force_switches_at_midnight_beijing_time(db_session) -> None:
    seed_topic(db_session)
    before = knowledge.answer_in_force(db_session, "loan_times", beijing(2026, 12, 31, 23, 59))
    after = knowledge.answer_in_force(db_session, "loan_times", beijing(2027, 1, 1, 0, 0))
    assert before is not None and "不限贷款次数" in before.full_text
    assert after is not None and "已于2026年12月31日到期" in after.full_text
    # 2027-01-01 00:00 in Chengdu is still 2026-12-31 in UTC: the day is Beijing's.
    assert beijing(2027, 1, 1).astimezone(timezone.utc).date() == date(2026, 12, 31)
    assert knowledge.answer_in_force(db_session, "loan_times", beijing(2026, 3, 24)) is None


def test_an_approved_draft_takes_effect_the_next_day_by_itself(db_session) -> None:
    seed_topic(db_session)
    agent = add_staff(db_session, "wangfang", StaffRole.agent)
    chief = add_staff(db_session, "zhaolei", StaffRole.supervisor)
    topic = editing.get_topic(db_session, "loan_times")
    today = beijing(2027, 3, 1, 15)
    draft = editing.create_draft(db_session, agent, topic, content("新规定：首套认定按新口径"),
                                 now=today)
    editing.submit(db_session, agent, draft, now=today)
    editing.approve(db_session, chief, draft, effective_from=date(2027, 3, 2), now=today)
    db_session.commit()

    evening = knowledge.answer_in_force(db_session, "loan_times", beijing(2027, 3, 1, 23, 59))
    morning = knowledge.answer_in_force(db_session, "loan_times", beijing(2027, 3, 2, 0, 0))
    assert evening is not None and "已于2026年12月31日到期" in evening.full_text
    assert morning is not None and morning.version_id == draft.id
    assert morning.version_number == 3


def test_an_agent_cannot_approve(db_session) -> None:
    seed_topic(db_session)
    agent = add_staff(db_session, "wangfang", StaffRole.agent)
    topic = editing.get_topic(db_session, "loan_times")
    draft = editing.create_draft(db_session, agent, topic, content("新口径"))
    editing.submit(db_session, agent, draft)
    with pytest.raises(DeskPermissionError):
        editing.approve(db_session, agent, draft, effective_from=date(2027, 3, 2))
    with pytest.raises(DeskPermissionError):
        editing.reject(db_session, agent, draft, note="不行")
    assert draft.status is VersionStatus.submitted


@pytest.mark.parametrize("sources, problem", [
    ((), "至少要有一条政策来源"),
    ((replace(SOURCE, date=None),), "缺少日期"),
    ((replace(SOURCE, source=""),), "写明出处"),
])
def test_no_approved_answer_without_source_and_date(db_session, sources, problem) -> None:
    seed_topic(db_session)
    agent = add_staff(db_session, "wangfang", StaffRole.agent)
    topic = editing.get_topic(db_session, "loan_times")
    draft = editing.create_draft(db_session, agent, topic, content("新口径", sources=sources))
    with pytest.raises(DeskValidationError) as refused:
        editing.submit(db_session, agent, draft)
    assert any(problem in text for text in refused.value.params["problems"])
    assert draft.status is VersionStatus.draft


def test_approval_needs_a_submitted_version_and_a_date_check(db_session) -> None:
    seed_topic(db_session)
    chief = add_staff(db_session, "zhaolei", StaffRole.supervisor)
    topic = editing.get_topic(db_session, "loan_times")
    draft = editing.create_draft(db_session, chief, topic, content("新口径"))
    with pytest.raises(DeskConflictError):
        editing.approve(db_session, chief, draft, effective_from=date(2027, 3, 2))
    editing.submit(db_session, chief, draft)
    with pytest.raises(DeskValidationError):
        editing.approve(db_session, chief, draft, effective_from=date(2027, 3, 2),
                        effective_until=date(2027, 3, 1))
    approved = editing.approve(db_session, chief, draft, effective_from=date(2027, 3, 2))
    with pytest.raises(DeskConflictError):
        editing.update_draft(db_session, chief, approved, content("改一改"))


def test_drafts_refuse_long_spoken_text_and_deferrals(db_session) -> None:
    seed_topic(db_session)
    agent = add_staff(db_session, "wangfang", StaffRole.agent)
    topic = editing.get_topic(db_session, "loan_times")
    with pytest.raises(DeskValidationError) as long_text:
        editing.create_draft(db_session, agent, topic, content("x", spoken_text="长" * 121))
    assert any("120" in p for p in long_text.value.params["problems"])
    deferring = content("x", full_text="需要的材料这里不能可靠地为您列出，请拨打96319转人工。")
    with pytest.raises(DeskValidationError) as deferred:
        editing.create_draft(db_session, agent, topic, deferring)
    assert any("不要让群众再去问人工" in p for p in deferred.value.params["problems"])


def test_every_step_is_audited(db_session) -> None:
    seed_topic(db_session)
    agent = add_staff(db_session, "wangfang", StaffRole.agent)
    chief = add_staff(db_session, "zhaolei", StaffRole.supervisor)
    topic = editing.get_topic(db_session, "loan_times")
    draft = editing.create_draft(db_session, agent, topic, content("新口径"))
    editing.submit(db_session, agent, draft)
    editing.reject(db_session, chief, draft, note="请补充来源链接")
    editing.update_draft(db_session, agent, draft, content("新口径，已补充"))
    editing.submit(db_session, agent, draft)
    editing.approve(db_session, chief, draft, effective_from=date(2027, 3, 2))
    db_session.commit()
    actions = [(e.actor, e.action) for e in db_session.scalars(
        select(DeskAuditEvent).where(DeskAuditEvent.target_type == "policy_version")
        .order_by(DeskAuditEvent.id))]
    assert actions == [("wangfang", "knowledge_draft"), ("wangfang", "knowledge_submit"),
                       ("zhaolei", "knowledge_reject"), ("wangfang", "knowledge_edit"),
                       ("wangfang", "knowledge_submit"), ("zhaolei", "knowledge_approve")]


def test_a_new_topic_needs_ten_examples_and_waits_for_training(db_session) -> None:
    chief = add_staff(db_session, "zhaolei", StaffRole.supervisor)
    few = ["电梯怎么提取"] * 12
    with pytest.raises(DeskValidationError):
        editing.add_topic(db_session, chief, key="withdraw_lift", category="提取",
                          title="加装电梯", ask="加装电梯能提取吗", scope="", examples=few)
    examples = [f"加装电梯提取问题{n}" for n in range(10)]
    topic = editing.add_topic(db_session, chief, key="withdraw_lift", category="提取",
                              title="加装电梯", ask="加装电梯能提取吗", scope="", examples=examples)
    assert topic.status is TopicStatus.awaiting_training
    assert len(topic.examples) == 11
    assert [t.key for t in editing.awaiting_training(db_session)] == ["withdraw_lift"]
    editing.mark_live(db_session, ["withdraw_lift"])
    assert topic.status is TopicStatus.live


def test_asks_and_the_handovers_that_follow_them(db_session) -> None:
    seed_topic(db_session)
    noon = beijing(2026, 11, 29, 12)
    knowledge.record_ask(db_session, topic="loan_times", version_id=1, channel="voice",
                         sender_id="CA-1", now=noon)
    knowledge.record_ask(db_session, topic="loan_times", version_id=1, channel="webchat",
                         sender_id="web-2", now=noon)
    knowledge.record_ask(db_session, topic="loan_times", version_id=1, channel="webchat",
                         sender_id="web-3", now=noon - timedelta(hours=2))
    assert knowledge.mark_handover(db_session, "CA-1", now=noon + timedelta(minutes=3)) == 1
    assert knowledge.mark_handover(db_session, "CA-1", now=noon + timedelta(minutes=4)) == 0
    assert knowledge.mark_handover(db_session, "web-3", now=noon) == 0  # two hours later
    db_session.commit()
    usage = knowledge.usage_by_topic(db_session)["loan_times"]
    assert (usage.asked, usage.handovers) == (3, 1)
    assert usage.handover_rate == pytest.approx(1 / 3)


def test_seed_is_idempotent_and_keeps_what_staff_changed(db_session) -> None:
    seed_topic(db_session)
    topic = editing.get_topic(db_session, "loan_times")
    topic.title = "贷款次数（已改）"
    db_session.commit()
    seed_topic(db_session)
    assert editing.get_topic(db_session, "loan_times").title == "贷款次数（已改）"
    assert len(editing.get_topic(db_session, "loan_times").versions) == 2


def test_search_finds_topics_by_title_and_answer_text(db_session) -> None:
    seed_topic(db_session)
    assert [t.key for t in knowledge.search_topics(db_session, "次数")] == ["loan_times"]
    assert [t.key for t in knowledge.search_topics(db_session, "阶段性政策")] == ["loan_times"]
    assert knowledge.search_topics(db_session, "租房") == []


def test_a_hand_over_or_a_callback_in_the_conversation_marks_the_answers_before_it(db_session):
    from bot.records.handovers import record_callback, record_handover

    noon = beijing(2026, 11, 29, 12)
    for sender in ("web-7", "CA-8"):
        knowledge.record_ask(db_session, topic="loan_rate", version_id=None, channel="webchat",
                             sender_id=sender, now=noon)
    record_handover(db_session, conversation_id="web-7", channel="webchat",
                    reason="user_request", now=noon + timedelta(minutes=2))
    record_callback(db_session, conversation_id="CA-8", channel="voice", phone="13800000008",
                    reason="after_hours:requested", now=noon + timedelta(minutes=5))
    db_session.commit()
    usage = knowledge.usage_by_topic(db_session)["loan_rate"]
    assert (usage.asked, usage.handovers) == (2, 2)
