"""重新训练并发布, for real: a tiny model retrained with a desk topic, measured, published.

One Rasa server (``rasa run --enable-api``) per module serves the tiny
assistant (tests/bot/knowledge/tiny.py); the release runs synchronously
(:func:`run_release`, the function the desk's thread runs). ``published`` is
the module's one successful release; the tests after it build on the model in
service it leaves (the refused release is measured against it; the rollback,
last, returns to the first model). About two and a half minutes in all.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.knowledge import replicas
from bot.knowledge.release import ReleaseSetup, rollback, run_release
from bot.records.db import session_scope
from bot.records.errors import DeskConflictError
from bot.records.knowledge_editing import add_topic, get_topic
from bot.records.knowledge_models import ModelRelease, ReleaseStatus, TopicStatus
from bot.records.releases import begin_release, get_release, model_in_service
from bot.records.staff_models import DeskAuditEvent
from tests.bot.knowledge.tiny import NEW_ASK, NEW_EXAMPLES, NEW_KEY, TOKEN, RasaServer, Tiny
from tests.e2e.stack import free_port


def add_desk_topic(url: str, key: str, ask: str, examples: list[str]) -> None:
    with session_scope(url) as session:
        add_topic(session, None, key=key, category="提取", title=key[:20], ask=ask, scope="",
                  examples=examples)


def begin(url: str) -> int:
    with session_scope(url) as session:
        return begin_release(session, None).id


def row(url: str, release_id: int) -> ModelRelease:
    with session_scope(url) as session:
        release = get_release(session, release_id)
        session.expunge(release)
        return release


def topic_status(url: str, key: str) -> TopicStatus:
    with session_scope(url) as session:
        return get_topic(session, key).status


@dataclass(frozen=True)
class Published:
    release_id: int
    outcome: ReleaseStatus
    served_before: str


@pytest.fixture(scope="module")
def published(setup: ReleaseSetup, rasa_server: RasaServer) -> Published:
    """The module's successful release: the desk topic ``elevator_withdraw`` taught and published."""
    add_desk_topic(setup.database_url, NEW_KEY, NEW_ASK, NEW_EXAMPLES)
    before = rasa_server.status()["model_file"]
    release_id = begin(setup.database_url)
    return Published(release_id, run_release(release_id, setup), before)


def test_a_release_teaches_the_desk_topic_and_publishes_it_to_the_replica(
    published: Published, setup: ReleaseSetup, rasa_server: RasaServer, tiny: Tiny
) -> None:
    release = row(setup.database_url, published.release_id)
    assert published.outcome is ReleaseStatus.published, release.message
    assert release.status is ReleaseStatus.published
    assert (release.stage, release.progress) == ("完成", 100)
    assert release.topics == [NEW_KEY] and NEW_KEY in (release.message or "")
    assert release.finished_at is not None
    # measured on the held-out set against the first model (no release before it)
    assert release.accuracy is not None and release.baseline_accuracy is not None
    assert release.accuracy >= release.baseline_accuracy - setup.tolerance
    assert release.previous_model_path == str(tiny.models / "initial.tar.gz")
    assert published.served_before == "initial.tar.gz"
    # the model is kept where the replica reads it, and the replica serves it
    model = Path(release.model_path or "")
    assert model.parent == tiny.releases and model.is_file()
    assert rasa_server.status()["model_file"] == model.name
    # the topic is live, and the replica understands it
    assert topic_status(setup.database_url, NEW_KEY) is TopicStatus.live
    parse = rasa_server.parse(NEW_EXAMPLES[0])
    assert parse["intent"]["name"] == "faq"
    selected = parse["response_selector"]["faq"]["response"]
    assert selected["intent_response_key"] == f"faq/{NEW_KEY}"
    assert rasa_server.parse("公积金贷款利率多少")["response_selector"]["faq"]["response"][
        "intent_response_key"] == "faq/loan_rate"
    # the training data of the project (here: the tiny one) is not written to
    assert not (tiny.data / "nlu" / "faq_desk.yml").exists()
    with session_scope(setup.database_url) as session:
        service = model_in_service(session)
        actions = list(session.scalars(select(DeskAuditEvent.action)))
    assert (service.path, service.accuracy) == (str(model), release.accuracy)
    assert "model_release_start" in actions


def test_a_release_that_loses_accuracy_is_refused_and_the_replica_keeps_its_model(
    published: Published, setup: ReleaseSetup, rasa_server: RasaServer, tiny: Tiny
) -> None:
    assert published.outcome is ReleaseStatus.published
    add_desk_topic(setup.database_url, "rent_second_city", "异地租房能提公积金吗",
                   [f"异地租房提取问题{n}" for n in "一二三四五六七八九"])
    serving = rasa_server.status()["model_file"]
    release_id = begin(setup.database_url)
    # every intent of this training data is labelled as another one
    outcome = run_release(release_id, replace(setup, data_dir=tiny.bad_data))
    release = row(setup.database_url, release_id)
    before = row(setup.database_url, published.release_id)
    assert outcome is ReleaseStatus.refused, release.message
    assert release.status is ReleaseStatus.refused and release.finished_at is not None
    assert release.baseline_accuracy == before.accuracy  # recorded, not measured again
    assert release.accuracy is not None
    assert release.accuracy < release.baseline_accuracy - setup.tolerance
    assert "未发布" in (release.message or "") and release.model_path is None
    assert rasa_server.status()["model_file"] == serving
    assert sorted(p.name for p in tiny.releases.iterdir()) == [Path(before.model_path or "").name]
    assert topic_status(setup.database_url, "rent_second_city") is TopicStatus.awaiting_training


def test_when_one_replica_fails_the_others_go_back_to_the_previous_model(
    published: Published, setup: ReleaseSetup, rasa_server: RasaServer, tiny: Tiny
) -> None:
    current = Path(row(setup.database_url, published.release_id).model_path or "")
    dead = f"http://127.0.0.1:{free_port()}"
    result = replicas.publish((rasa_server.url, dead), TOKEN, tiny.models / "initial.tar.gz",
                              current)
    assert not result.ok and list(result.failed) == [dead]
    assert result.loaded == [rasa_server.url] and result.restored == [rasa_server.url]
    assert dead in result.summary()
    assert rasa_server.status()["model_file"] == current.name


def test_rollback_puts_the_replica_back_on_the_previous_model(
    published: Published, setup: ReleaseSetup, rasa_server: RasaServer
) -> None:
    with session_scope(setup.database_url) as session:
        release = get_release(session, published.release_id)
        assert rollback(session, None, release, setup) == {}
    release = row(setup.database_url, published.release_id)
    assert release.status is ReleaseStatus.rolled_back
    assert rasa_server.status()["model_file"] == "initial.tar.gz"
    assert topic_status(setup.database_url, NEW_KEY) is TopicStatus.awaiting_training
    with session_scope(setup.database_url) as session:
        service = model_in_service(session)
        assert (service.path, service.accuracy) == (release.previous_model_path,
                                                    release.baseline_accuracy)
        audited = session.scalars(select(DeskAuditEvent).where(
            DeskAuditEvent.action == "model_release_rollback")).one()
        assert audited.target_id == str(published.release_id)
        with pytest.raises(DeskConflictError):  # nothing is published to roll back now
            rollback(session, None, get_release(session, published.release_id), setup)
