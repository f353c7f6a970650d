"""The learning inbox (待学习) on the desk, with a real Rasa tracker store.

The tracker store is written by Rasa's own ``SQLTrackerStore``
(``tests/rasa_tracker.py``) beside the records database, on SQLite and on
PostgreSQL; staff pull from it with the 拉取新记录 button.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.nlu.training_data import known_labels
from bot.records.db import session_scope
from bot.records.learning_models import MissedTurn, MissKind
from bot.records.staff_models import DeskAuditEvent
from tests.bot.gateway.desk.conftest import post
from tests.rasa_tracker import sample_conversations, write_conversations

INBOX = "/desk/learning"


@pytest.fixture
def tracker_url(tracker_db_url: str) -> str:
    """The desk reads the real tracker store of this backend (overrides the conftest's)."""
    return tracker_db_url


@pytest.fixture
def conversations(tracker_url: str) -> None:
    write_conversations(tracker_url, sample_conversations(time.time() - 3600))


def _harvest(client: FlaskClient) -> str:
    response = post(client, f"{INBOX}/harvest", form_page=INBOX)
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _ids(db_url: str) -> dict[str, int]:
    with session_scope(db_url) as session:
        return {row.kind.value: row.id for row in session.scalars(select(MissedTurn))}


def test_agents_pull_and_see_misses_masked_newest_first(
    as_agent: FlaskClient, conversations: None
) -> None:
    page = as_agent.get(INBOX).get_data(as_text=True)
    assert "待学习" in page and "没有待标注的语句" in page
    page = _harvest(as_agent)
    assert "已拉取新记录：新增 3 条。" in page
    assert "我的电话是138****5678 那个钱咋个整" in page
    assert "下一句：“转人工”" in page
    assert "身份证510104********0017 提取和贷款" in page
    assert "13812345678" not in page and "510104198503150017" not in page
    assert "后子门大厅" not in page and "👍" not in page
    order = [page.index(text) for text in ("身份证510104", "贷款利息", "我的电话是")]
    assert order == sorted(order)  # newest first
    assert "没听懂后转人工" in page and "答后被纠正" in page and "反问确认" in page
    assert "政策咨询 · 公积金贷款利率" in page and "71%" in page  # what the assistant guessed
    assert "每周未理解语句与标注率" not in page  # supervisors only
    assert "已拉取新记录：新增 0 条。" in _harvest(as_agent)


def test_the_label_choice_is_every_training_label_and_ignore(
    as_agent: FlaskClient, conversations: None
) -> None:
    page = _harvest(as_agent)
    select_html = page[page.index('<select name="label"'):]
    select_html = select_html[:select_html.index("</select>")]
    offered = re.findall(r'<option value="([^"]+)"', select_html)
    assert offered == [*[label for label in known_labels() if "/" not in label],
                       *[label for label in known_labels() if label.startswith("faq/")],
                       *[label for label in known_labels() if label.startswith("out_of_scope/")],
                       "ignore"]
    assert "忽略（无学习价值）" in select_html and "超出服务范围 · 税务" in select_html


def test_labelling_moves_a_miss_to_the_labelled_tab_and_is_audited(
    as_agent: FlaskClient, conversations: None, db_url: str
) -> None:
    _harvest(as_agent)
    ids = _ids(db_url)
    response = post(as_agent, f"{INBOX}/{ids['rephrase']}/label?kind=rephrase",
                    {"label": "faq/loan_limit"}, form_page=INBOX)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{INBOX}?kind=rephrase")
    page = as_agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "标注已保存。" in page and "贷款利息" not in page
    labelled = as_agent.get(f"{INBOX}?state=labelled").get_data(as_text=True)
    assert "贷款利息" in labelled and "改标" in labelled and "lihua" in labelled
    post(as_agent, f"{INBOX}/{ids['handover']}/label", {"label": "ignore"}, form_page=INBOX)
    with session_scope(db_url) as session:
        rows = {row.id: row for row in session.scalars(select(MissedTurn))}
        assert rows[ids["rephrase"]].label == "faq/loan_limit"
        assert rows[ids["handover"]].label == "ignore"
        assert rows[ids["rephrase"]].labelled_by == "lihua"
        actions = session.scalars(select(DeskAuditEvent.action).order_by(DeskAuditEvent.id)).all()
    assert actions[-3:] == ["misses_harvested", "miss_labelled", "miss_labelled"]
    log = as_agent.get(INBOX).get_data(as_text=True)
    assert "我的电话是" not in log  # ignored: no longer waiting


@pytest.mark.parametrize(("label", "status", "message"), [
    ("faq/no_such_topic", 400, "请从列表中选择一个标注"),
    ("", 400, "请从列表中选择一个标注"),
])
def test_a_label_not_offered_is_refused(
    as_agent: FlaskClient, conversations: None, db_url: str, label: str, status: int,
    message: str
) -> None:
    _harvest(as_agent)
    miss_id = _ids(db_url)["clarify"]
    response = post(as_agent, f"{INBOX}/{miss_id}/label", {"label": label}, form_page=INBOX)
    assert response.status_code == status and message in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert session.get(MissedTurn, miss_id).label is None


def test_an_unknown_miss_is_a_chinese_404(as_agent: FlaskClient) -> None:
    response = post(as_agent, f"{INBOX}/999/label", {"label": "complain"}, form_page=INBOX)
    assert response.status_code == 404 and "未找到该条待学习记录" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [f"{INBOX}/harvest", f"{INBOX}/1/label"])
def test_forms_need_the_csrf_token(as_agent: FlaskClient, path: str) -> None:
    response = as_agent.post(path, data={"label": "complain", "csrf_token": "forged"})
    assert response.status_code == 400


def test_the_inbox_needs_a_log_in(client: FlaskClient) -> None:
    response = client.get(INBOX)
    assert response.status_code == 302 and "/desk/login" in response.headers["Location"]


def test_filter_by_kind_and_a_bad_filter(as_agent: FlaskClient, conversations: None) -> None:
    _harvest(as_agent)
    page = as_agent.get(f"{INBOX}?kind=clarify").get_data(as_text=True)
    assert "身份证510104" in page and "贷款利息" not in page and "共 1 条" in page
    page = as_agent.get(f"{INBOX}?kind=nonsense&state=weird").get_data(as_text=True)
    assert "部分筛选条件无效" in page and "共 3 条" in page


def test_an_absent_tracker_store_is_said_in_chinese(as_agent: FlaskClient, db_url: str) -> None:
    page = _harvest(as_agent)
    assert "未能拉取新记录" in page
    with session_scope(db_url) as session:
        assert session.scalars(select(DeskAuditEvent.action).where(
            DeskAuditEvent.action == "misses_harvested")).all() == []


def test_supervisors_see_misses_per_week_and_the_share_labelled(
    as_supervisor: FlaskClient, db_url: str
) -> None:
    now = datetime.now(timezone.utc)
    with session_scope(db_url) as session:
        for number, (days_ago, label) in enumerate([(0, "complain"), (0, None), (7, "ignore")]):
            at = now - timedelta(days=days_ago)
            session.add(MissedTurn(conversation_key="c" * 64, event_key=f"e{number}",
                                   channel="voice", kind=MissKind.fallback, occurred_at=at,
                                   text="啥子", label=label, harvested_at=at))
    page = as_supervisor.get(INBOX).get_data(as_text=True)
    section = page[page.index("每周未理解语句与标注率"):]
    assert section.count("<tr>") == 1 + 8  # header and eight weeks
    assert "50.0%" in section and "100.0%" in section
    iso_year, iso_week, _ = now.astimezone(timezone(timedelta(hours=8))).isocalendar()
    assert f"{iso_year}-W{iso_week:02d}" in section


def test_the_nav_links_the_inbox(as_agent: FlaskClient) -> None:
    page = as_agent.get("/desk/complaints").get_data(as_text=True)
    assert f'href="{INBOX}"' in page and ">待学习<" in page

