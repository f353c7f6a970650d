"""模型发布 on the desk: supervisors only, one release at a time, progress, rollback, audit.

The release's work (training, evaluation, Rasa) is tests/bot/knowledge's; here
the background thread is replaced by a recorder and the replicas by a stub, so
the pages and their rules are tested on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.gateway.desk import releases as desk_releases
from bot.knowledge import release as releasing
from bot.records.db import session_scope
from bot.records.knowledge_editing import add_topic
from bot.records.knowledge_models import ModelRelease, ReleaseStatus
from bot.records.staff_models import DeskAuditEvent
from tests.bot.gateway.desk.conftest import post

PAGE = "/desk/releases"


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, releasing.ReleaseSetup]]:
    """What the start button hands to the background thread (nothing runs)."""
    calls: list[tuple[int, releasing.ReleaseSetup]] = []
    monkeypatch.setattr(desk_releases.releasing, "launch",
                        lambda release_id, setup: calls.append((release_id, setup)))
    return calls


@pytest.fixture
def waiting_topic(db_url: str) -> None:
    with session_scope(db_url) as session:
        add_topic(session, None, key="elevator_withdraw", category="提取", title="加装电梯提取",
                  ask="老小区加装电梯可以提取公积金吗", scope="",
                  examples=[f"加装电梯提取问题{n}" for n in range(10)])


def _published(db_url: str, **values: object) -> int:
    now = datetime.now(timezone.utc)
    with session_scope(db_url) as session:
        release = ModelRelease(status=ReleaseStatus.published, stage="完成", progress=100,
                               started_by="wangfang", started_at=now, finished_at=now,
                               model_path="/models/releases/release-1.tar.gz",
                               previous_model_path="/models/hotline-old.tar.gz",
                               accuracy=0.9712, baseline_accuracy=0.9701,
                               topics=["elevator_withdraw"], message="已发布到 1 个服务实例")
        for name, value in values.items():
            setattr(release, name, value)
        session.add(release)
        session.flush()
        return release.id


def test_agents_may_not_see_or_start_releases(as_agent: FlaskClient, db_url: str) -> None:
    release_id = _published(db_url)
    assert as_agent.get(PAGE).status_code == 403
    assert as_agent.get(f"{PAGE}/{release_id}").status_code == 403
    assert post(as_agent, PAGE).status_code == 403
    assert post(as_agent, f"{PAGE}/{release_id}/rollback").status_code == 403
    assert "模型发布" not in as_agent.get("/desk/complaints").get_data(as_text=True)


def test_a_supervisor_starts_a_release_and_follows_its_progress(
    as_supervisor: FlaskClient, db_url: str, waiting_topic: None, launched: list
) -> None:
    page = as_supervisor.get(PAGE).get_data(as_text=True)
    assert "模型发布" in page and "待训练的主题" in page and "faq/elevator_withdraw" in page
    assert "重新训练并发布" in page and "还没有发布记录" in page

    response = post(as_supervisor, PAGE, form_page=PAGE)
    assert response.status_code == 303
    with session_scope(db_url) as session:
        release = session.scalars(select(ModelRelease)).one()
        audited = session.scalars(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "model_release_start")).one()
    assert response.headers["Location"] == f"{PAGE}/{release.id}"
    assert release.status is ReleaseStatus.running and release.topics == ["elevator_withdraw"]
    assert (audited.actor, audited.target_id) == ("wangfang", str(release.id))
    (release_id, setup), = launched
    assert release_id == release.id and setup.database_url == db_url

    detail = as_supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in detail
    assert "已开始重新训练" in detail and "准备中" in detail
    assert '<progress class="release-progress" max="100" value="0"' in detail
    assert "<script>" not in detail and "style=" not in detail

    with session_scope(db_url) as session:
        row = session.get(ModelRelease, release.id)
        row.stage, row.progress = "训练模型", 45
    detail = as_supervisor.get(f"{PAGE}/{release.id}").get_data(as_text=True)
    assert "训练模型" in detail and 'value="45"' in detail

    listing = as_supervisor.get(PAGE).get_data(as_text=True)
    assert "查看进行中的发布" in listing and "重新训练并发布</button>" not in listing


def test_a_second_release_is_refused_while_one_runs(
    as_supervisor: FlaskClient, db_url: str, launched: list
) -> None:
    assert post(as_supervisor, PAGE, form_page=PAGE).status_code == 303
    response = post(as_supervisor, PAGE, form_page=PAGE)
    assert response.status_code == 409
    assert "已有一次训练发布正在进行" in response.get_data(as_text=True)
    assert len(launched) == 1
    with session_scope(db_url) as session:
        assert len(session.scalars(select(ModelRelease)).all()) == 1


def test_a_finished_release_shows_its_figures_without_refreshing(
    as_supervisor: FlaskClient, db_url: str
) -> None:
    refused = _published(db_url, status=ReleaseStatus.refused, accuracy=0.90,
                         model_path=None, message="新模型准确率 90.00% 比在用模型 97.01% 低")
    page = as_supervisor.get(f"{PAGE}/{refused}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    assert "未发布（准确率下降）" in page and "90.00%" in page and "97.01%" in page
    assert "-7.01 个百分点" in page and "新模型准确率 90.00%" in page
    assert "回滚到上一个模型" not in page


def test_the_latest_published_release_is_rolled_back(
    as_supervisor: FlaskClient, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[tuple[tuple[str, ...], str]] = []
    monkeypatch.setattr(releasing.replicas, "load_everywhere",
                        lambda urls, token, model: loaded.append((tuple(urls), model)) or {})
    older = _published(db_url)
    latest = _published(db_url, previous_model_path="/models/releases/release-1.tar.gz")
    assert "回滚到上一个模型" not in as_supervisor.get(f"{PAGE}/{older}").get_data(as_text=True)
    page = as_supervisor.get(f"{PAGE}/{latest}").get_data(as_text=True)
    assert "回滚到上一个模型" in page and "97.12%" in page and "+0.11 个百分点" in page

    response = post(as_supervisor, f"{PAGE}/{older}/rollback", form_page=PAGE)
    assert response.status_code == 303 and not loaded  # only the one in service

    response = post(as_supervisor, f"{PAGE}/{latest}/rollback", form_page=PAGE)
    assert response.status_code == 303
    assert loaded == [(("http://127.0.0.1:5005",), "/models/releases/release-1.tar.gz")]
    page = as_supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "已回滚：所有服务实例已恢复为上一个模型" in page and "已回滚" in page
    with session_scope(db_url) as session:
        assert session.get(ModelRelease, latest).status is ReleaseStatus.rolled_back
        audited = session.scalars(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "model_release_rollback")).one()
        assert audited.target_id == str(latest)
    assert "回滚模型" in as_supervisor.get("/desk/audit").get_data(as_text=True)


def test_a_rollback_a_replica_refuses_is_reported_and_audited(
    as_supervisor: FlaskClient, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(releasing.replicas, "load_everywhere",
                        lambda urls, token, model: {urls[0]: "HTTP 400 BadRequest"})
    latest = _published(db_url)
    response = post(as_supervisor, f"{PAGE}/{latest}/rollback", form_page=PAGE)
    page = as_supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "回滚未完成：1 个服务实例未能加载上一个模型" in page
    with session_scope(db_url) as session:
        assert session.get(ModelRelease, latest).status is ReleaseStatus.published
        audited = session.scalars(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "model_release_rollback_failed")).one()
        assert "HTTP 400" in (audited.detail or "")


def test_the_nav_links_the_page_for_supervisors(as_supervisor: FlaskClient) -> None:
    page = as_supervisor.get(PAGE).get_data(as_text=True)
    assert f'<a href="{PAGE}" aria-current="page">模型发布</a>' in page
