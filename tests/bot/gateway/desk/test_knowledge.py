"""The desk's policy knowledge base (政策知识库): list, preview, drafts, review, new topics.

Real records databases (SQLite and PostgreSQL); topics are loaded with
:func:`bot.records.knowledge_editing.load_seed` as ``python -m bot.knowledge seed`` does.
"""
from __future__ import annotations

import math
import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from bot.knowledge.content import Content, SeedTopic, SeedVersion, Source
from bot.records.clock import shanghai_date
from bot.records.db import session_scope
from bot.records.knowledge import answer_in_force, mark_handover, record_ask
from bot.records.knowledge_editing import load_seed
from bot.records.knowledge_models import PolicyTopic, PolicyVersion, TopicStatus, VersionStatus
from bot.records.staff_models import DeskAuditEvent
from tests.bot.gateway.desk.conftest import Person, beijing, log_in, post

LIST = "/desk/knowledge"
LOAN = "/desk/knowledge/topic/loan_times"
SOURCE = Source(source="成公积金〔2026〕12号", grade="official", date=date(2026, 3, 20),
                url="https://cdzfgjj.chengdu.gov.cn", confirmed=True)
SPOKEN = "阶段性政策期间公积金贷款不限次数，详细内容可以发短信给您。"
SMS = "【成都住房公积金】阶段性政策期间公积金贷款不限次数。" + "办理请带本人身份证到中心柜台或成都公积金App。" * 3


def _content(text: str, **extra) -> Content:  # type: ignore[no-untyped-def]
    return Content(full_text=f"{text}。到中心柜台或成都公积金App办理。", spoken_text=SPOKEN,
                   sms_text=SMS, materials=("本人身份证", "购房合同"),
                   links=(("成都住房公积金管理中心", "https://cdzfgjj.chengdu.gov.cn"),),
                   sources=(SOURCE,), **extra)


@pytest.fixture
def topics(db_url: str) -> None:
    seeds = [
        SeedTopic(key="loan_times", category="贷款", title="贷款次数", ask="公积金能贷几次",
                  scope="贷款次数", versions=(
                      SeedVersion(_content("阶段性政策：不限贷款次数"), date(2026, 3, 25), None),)),
        SeedTopic(key="withdraw_rent", category="提取", title="租房提取", ask="租房能提取吗",
                  scope="租房提取公积金", versions=(
                      SeedVersion(_content("租房提取每月限额1800元",
                                           unconfirmed=("限额是否调整",)),
                                  date(2026, 1, 1), None),)),
    ]
    with session_scope(db_url) as session:
        load_seed(session, seeds)
        # Six answers on loan_times in the last days, a hand-over after three.
        for n in range(6):
            record_ask(session, topic="loan_times", version_id=None, channel="webchat",
                       sender_id=f"conv-{n}", now=beijing(-2))
        for n in range(3):
            mark_handover(session, f"conv-{n}", now=beijing(-2))
        record_ask(session, topic="withdraw_rent", version_id=None, channel="voice",
                   sender_id="old", now=beijing(-40))


@pytest.fixture
def chief(app: Flask, supervisor: Person) -> FlaskClient:
    """A second browser, logged in as the supervisor."""
    other = app.test_client()
    assert log_in(other, supervisor).status_code == 303
    return other


def _form(**changes: str) -> dict[str, str]:
    form = {
        "full_text": "新口径：首套住房认定以不动产登记为准。到中心柜台或成都公积金App办理。",
        "materials": "本人身份证\n不动产权证书",
        "links": "成都住房公积金管理中心|https://cdzfgjj.chengdu.gov.cn",
        "spoken_text": "首套住房认定以不动产登记为准，详细内容可以发短信给您。",
        "sms_text": "【成都住房公积金】首套住房认定以不动产登记为准。",
        "sources": "成公积金〔2027〕3号|官方|2027-02-20|https://cdzfgjj.chengdu.gov.cn|是",
        "unconfirmed": "",
        "effective_from": "",
        "effective_until": "",
    }
    return {**form, **changes}


def _versions(db_url: str, key: str = "loan_times") -> list[tuple[int, str]]:
    with session_scope(db_url) as session:
        rows = session.execute(select(PolicyVersion.number, PolicyVersion.status)
                               .join(PolicyTopic).where(PolicyTopic.key == key)
                               .order_by(PolicyVersion.number)).all()
        return [(number, status.value) for number, status in rows]


def _version_id(db_url: str, number: int, key: str = "loan_times") -> int:
    with session_scope(db_url) as session:
        return session.scalar(select(PolicyVersion.id).join(PolicyTopic).where(
            PolicyTopic.key == key, PolicyVersion.number == number))


def _draft_and_submit(client: FlaskClient, db_url: str, **changes: str) -> int:
    response = post(client, f"{LOAN}/draft", _form(**changes), form_page=LIST)
    assert response.status_code == 303, response.get_data(as_text=True)
    version_id = _version_id(db_url, 2)
    response = post(client, f"/desk/knowledge/version/{version_id}/submit", form_page=LIST)
    assert response.status_code == 303
    return version_id


def test_the_list_shows_each_topic_and_searches(as_agent: FlaskClient, topics: None) -> None:
    page = as_agent.get(LIST).get_data(as_text=True)
    assert 'aria-current="page">政策知识库' in page
    for text in ("贷款次数", "loan_times", "租房提取", "withdraw_rent", "第 1 版",
                 "2026-03-25 起，长期", "来源等级：官方", "已上线"):
        assert text in page, text
    loan_row = page[page.index("loan_times"):page.index("</tr>", page.index("loan_times"))]
    assert "3 次（50%）" in loan_row and "转人工偏高" in loan_row  # 6 asked, 3 handed over
    rent_row = page[page.index("withdraw_rent"):page.index("</tr>", page.index("withdraw_rent"))]
    assert "<td>0</td>" in rent_row  # the answer 40 days ago is outside the 30 days

    found = as_agent.get(LIST, query_string={"q": "1800"}).get_data(as_text=True)
    assert "withdraw_rent" in found and "loan_times" not in found  # text of the answer
    found = as_agent.get(LIST, query_string={"category": "贷款"}).get_data(as_text=True)
    assert "loan_times" in found and "withdraw_rent" not in found
    found = as_agent.get(LIST, query_string={"category": "<b>x"}).get_data(as_text=True)
    assert "部分筛选条件无效，已忽略。" in found and "<b>x" not in found
    assert "没有符合条件的话题" in as_agent.get(LIST, query_string={"q": "不存在的词"}).get_data(
        as_text=True)


def test_the_topic_page_previews_web_phone_and_sms(as_agent: FlaskClient, topics: None) -> None:
    page = as_agent.get(LOAN).get_data(as_text=True)
    assert "阶段性政策：不限贷款次数。到中心柜台或成都公积金App办理。\n\n需要准备的材料：\n1. 本人身份证\n2. 购房合同" in page
    assert '<a href="https://cdzfgjj.chengdu.gov.cn" rel="noopener noreferrer">成都住房公积金管理中心</a>' in page
    offer = "完整内容需要发短信给您吗？需要请按1。"  # flows/voice.yml, as the phone says it
    assert SPOKEN in page and offer in page
    seconds = round((len(SPOKEN) + len(offer)) / 4.8, 1)
    assert f"播报 {len(SPOKEN)} 字" in page and f"约 {seconds} 秒" in page
    assert SMS in page and f"{len(SMS)} 字，按每条 67 字计分 {math.ceil(len(SMS) / 67)} 条发送" in page
    assert math.ceil(len(SMS) / 67) > 1
    assert "成公积金〔2026〕12号 · 官方 · 2026-03-20" in page and "现行" in page
    assert "近 30 天" in page and "答复 6 次，之后转人工 3 次（50%）" in page
    assert as_agent.get("/desk/knowledge/topic/nope").status_code == 404


def test_draft_submit_approve_and_the_answer_switches_on_the_day(
    as_agent: FlaskClient, chief: FlaskClient, topics: None, db_url: str
) -> None:
    editor = as_agent.get(f"{LOAN}/draft").get_data(as_text=True)
    assert "阶段性政策：不限贷款次数" in editor  # prefilled from the version in force
    assert "成公积金〔2026〕12号|官方|2026-03-20|https://cdzfgjj.chengdu.gov.cn|是" in editor
    version_id = _draft_and_submit(as_agent, db_url)
    assert _versions(db_url) == [(1, "approved"), (2, "submitted")]
    agent_view = as_agent.get(LOAN).get_data(as_text=True)
    assert "等待督查员审核" in agent_view and "knowledge/version/%d/approve" % version_id not in agent_view
    assert "待审核 1" in as_agent.get(LIST, query_string={"waiting": "1"}).get_data(as_text=True)

    tomorrow = shanghai_date() + timedelta(days=1)
    response = post(chief, f"/desk/knowledge/version/{version_id}/approve",
                    {"effective_from": tomorrow.isoformat(), "note": "核对无误"}, form_page=LIST)
    assert response.status_code == 303
    page = chief.get(response.headers["Location"]).get_data(as_text=True)
    assert f"已批准，自 {tomorrow.isoformat()}（北京时间）起生效。" in page
    assert "待生效" in page and "核对无误" in page
    with session_scope(db_url) as session:
        today = answer_in_force(session, "loan_times", now=beijing(0, hour=23))
        next_day = answer_in_force(session, "loan_times", now=beijing(1, hour=0))
        assert today is not None and today.version_number == 1
        assert next_day is not None and next_day.version_id == version_id
        actions = [(e.actor, e.action, e.target_type) for e in session.scalars(
            select(DeskAuditEvent).where(DeskAuditEvent.action.like("knowledge_%"))
            .order_by(DeskAuditEvent.id))]
    assert actions == [("cli", "knowledge_seed", None),
                       ("lihua", "knowledge_draft", "policy_version"),
                       ("lihua", "knowledge_submit", "policy_version"),
                       ("wangfang", "knowledge_approve", "policy_version")]
    audit = chief.get("/desk/audit").get_data(as_text=True)
    for text in ("新建政策答复草稿", "提交政策答复审核", "批准政策答复", "政策答复版本",
                 f"loan_times v2 自 {tomorrow.isoformat()}"):
        assert text in audit, text


def test_an_agent_cannot_approve_or_send_back(
    as_agent: FlaskClient, topics: None, db_url: str
) -> None:
    version_id = _draft_and_submit(as_agent, db_url)
    for action, data in (("approve", {"effective_from": "2027-01-01"}), ("reject", {"note": "x"})):
        response = post(as_agent, f"/desk/knowledge/version/{version_id}/{action}", data,
                        form_page=LIST)
        assert response.status_code == 403
        assert "此操作仅限督查员。" in response.get_data(as_text=True)
    assert _versions(db_url) == [(1, "approved"), (2, "submitted")]
    with session_scope(db_url) as session:
        assert session.scalar(select(DeskAuditEvent.id).where(
            DeskAuditEvent.action.in_(["knowledge_approve", "knowledge_reject"]))) is None


def test_no_submission_or_approval_without_a_dated_source(
    as_agent: FlaskClient, chief: FlaskClient, topics: None, db_url: str
) -> None:
    response = post(as_agent, f"{LOAN}/draft",
                    _form(sources="成公积金〔2027〕3号|官方||https://cdzfgjj.chengdu.gov.cn|是"),
                    form_page=LIST)
    assert response.status_code == 303  # a draft may still lack it
    version_id = _version_id(db_url, 2)
    response = post(as_agent, f"/desk/knowledge/version/{version_id}/submit", form_page=LIST)
    assert response.status_code == 400
    assert "来源“成公积金〔2027〕3号”缺少日期。" in response.get_data(as_text=True)
    assert _versions(db_url) == [(1, "approved"), (2, "draft")]

    # A version submitted before its source lost its date (e.g. under older
    # rules) is still refused at approval, with the reason on the page.
    with session_scope(db_url) as session:
        session.execute(update(PolicyVersion).where(PolicyVersion.id == version_id)
                        .values(status=VersionStatus.submitted))
    response = post(chief, f"/desk/knowledge/version/{version_id}/approve",
                    {"effective_from": "2027-03-01", "note": "好"}, form_page=LIST)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "以下问题需要先修改" in page and "缺少日期" in page
    assert 'value="2027-03-01"' in page  # what the supervisor typed is kept
    assert _versions(db_url) == [(1, "approved"), (2, "submitted")]


def test_approval_needs_a_valid_effective_date_and_sending_back_a_note(
    as_agent: FlaskClient, chief: FlaskClient, topics: None, db_url: str
) -> None:
    version_id = _draft_and_submit(as_agent, db_url)
    base = f"/desk/knowledge/version/{version_id}"
    for data, text in (({"effective_from": ""}, "批准时请填写生效日期"),
                       ({"effective_from": "2027-13-01"}, "日期“2027-13-01”无法识别"),
                       ({"effective_from": "2027-03-02", "effective_until": "2027-03-01"},
                        "失效日期不能早于生效日期。")):
        response = post(chief, f"{base}/approve", data, form_page=LIST)
        assert response.status_code == 400 and text in response.get_data(as_text=True)
    response = post(chief, f"{base}/reject", {"note": "  "}, form_page=LIST)
    assert response.status_code == 400
    assert "退回时请填写退回原因" in response.get_data(as_text=True)
    assert _versions(db_url) == [(1, "approved"), (2, "submitted")]

    assert post(chief, f"{base}/reject", {"note": "来源请写全文号"},
                form_page=LIST).status_code == 303
    assert _versions(db_url) == [(1, "approved"), (2, "rejected")]
    page = as_agent.get(LOAN).get_data(as_text=True)
    assert "已退回" in page and "来源请写全文号" in page
    edit = as_agent.get(f"{base}/edit").get_data(as_text=True)
    assert "已被退回：来源请写全文号" in edit


def test_a_bad_draft_shows_the_problems_and_keeps_what_was_typed(
    as_agent: FlaskClient, topics: None, db_url: str
) -> None:
    long_spoken = "请" * 130
    response = post(as_agent, f"{LOAN}/draft", _form(
        spoken_text=long_spoken, full_text="<script>alert(1)</script>新口径",
        sms_text="没有前缀的短信"), form_page=LIST)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "电话播报最多120字（约25秒），现在是130字。" in page
    assert "短信要以【成都住房公积金】开头。" in page
    assert long_spoken in page and "没有前缀的短信" in page and "不动产权证书" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;新口径" in page and "<script>alert" not in page

    response = post(as_agent, f"{LOAN}/draft",
                    _form(links="只有标题", sources="出处|很好|昨天"), form_page=LIST)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "链接第 1 行格式有误" in page and "政策来源第 1 行格式有误" in page
    assert _versions(db_url) == [(1, "approved")]


def test_a_new_topic_needs_ten_examples_and_waits_for_training(
    as_agent: FlaskClient, topics: None, db_url: str
) -> None:
    examples = [f"公积金贴息第{n}种问法" for n in range(1, 11)]
    form = {"key": "loan_subsidy_new", "category": "贷款", "title": "贷款贴息",
            "ask": "公积金贷款有贴息吗", "scope": "贴息政策"}
    page_form = "/desk/knowledge/new"
    assert "至少 10 条不同的问法" in as_agent.get(page_form).get_data(as_text=True)
    response = post(as_agent, page_form, {**form, "examples": "\n".join(examples[:9])},
                    form_page=page_form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "例句至少需要 10 条不同的问法" in page and "已填写 9 条不同的例句" in page
    assert "公积金贴息第9种问法" in page and 'value="loan_subsidy_new"' in page
    response = post(as_agent, page_form, {**form, "key": "Bad Key", "examples": "\n".join(examples)},
                    form_page=page_form)
    assert response.status_code == 400 and "话题编码须为" in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert session.scalar(select(PolicyTopic).where(PolicyTopic.key == "loan_subsidy_new")) is None

    response = post(as_agent, page_form, {**form, "examples": "\n".join(examples)},
                    form_page=page_form)
    assert response.status_code == 303
    page = as_agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "话题已新增，状态为“待训练”" in page and "重新训练并发布" in page
    assert "还没有答复版本" in page
    with session_scope(db_url) as session:
        topic = session.scalar(select(PolicyTopic).where(PolicyTopic.key == "loan_subsidy_new"))
        assert topic.status is TopicStatus.awaiting_training and len(topic.examples) == 11
        assert session.scalar(select(DeskAuditEvent.detail).where(
            DeskAuditEvent.action == "knowledge_topic_add")) == "loan_subsidy_new（11条例句）"
    response = post(as_agent, page_form, {**form, "examples": "\n".join(examples)},
                    form_page=page_form)
    assert response.status_code == 409 and "该话题编码已存在" in response.get_data(as_text=True)
    listed = as_agent.get(LIST).get_data(as_text=True)
    assert "待训练" in listed and "无现行答复" in listed


def test_forms_without_the_csrf_token_are_refused(
    as_agent: FlaskClient, chief: FlaskClient, topics: None, db_url: str
) -> None:
    response = as_agent.post(f"{LOAN}/draft", data=_form())
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    version_id = _draft_and_submit(as_agent, db_url)
    response = chief.post(f"/desk/knowledge/version/{version_id}/approve",
                          data={"effective_from": "2027-01-01"})
    assert response.status_code == 400
    assert as_agent.post("/desk/knowledge/new", data={"key": "abc_topic"}).status_code == 400
    assert _versions(db_url) == [(1, "approved"), (2, "submitted")]
    with session_scope(db_url) as session:
        assert session.scalar(select(PolicyTopic).where(PolicyTopic.key == "abc_topic")) is None


def test_pages_need_a_log_in(client: FlaskClient, topics: None) -> None:
    response = client.get(LIST)
    assert response.status_code == 302 and "/desk/login" in response.headers["Location"]
    assert re.search(r"/desk/login", client.get(LOAN).headers["Location"])
