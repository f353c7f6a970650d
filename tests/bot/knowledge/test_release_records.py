"""The release's rules that need no model: the export, one release at a time, no row left running.

Runs on SQLite and PostgreSQL (``db_url``).
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.knowledge.release import ReleaseSetup, export_examples, run_release
from bot.records.db import session_scope
from bot.records.errors import DeskConflictError
from bot.records.knowledge_editing import add_topic, get_topic
from bot.records.knowledge_models import (
    ModelRelease,
    PolicyExample,
    ReleaseStatus,
    TopicStatus,
)
from bot.records.releases import STALE_MESSAGE, begin_release, get_release
from bot.records.staff_models import DeskAuditEvent
from tests.bot.knowledge.tiny import NEW_ASK, NEW_EXAMPLES, NEW_KEY, TINY_CONFIG, write_tiny
from tests.e2e.stack import RASA, free_port

PROJECT_HELD_OUT = "您好，请问是成都公积金中心吗"  # an utterance of tests/nlu/heldout.yml


def topic(url: str, key: str, examples: list[str], ask: str = "") -> None:
    with session_scope(url) as session:
        add_topic(session, None, key=key, category="提取", title=key[:20],
                  ask=ask or f"{key} 怎么办理", scope="", examples=examples)


def test_export_writes_the_desk_topics_only_and_leaves_out_known_and_held_out_texts(
    db_url: str, tmp_path: Path
) -> None:
    tiny = write_tiny(tmp_path / "tiny")
    topic(db_url, NEW_KEY, [*NEW_EXAMPLES, "租房能提公积金吗", "你好 请问一下", PROJECT_HELD_OUT],
          ask=NEW_ASK)
    topic(db_url, "loan_rate", [f"利率问题{n}" for n in range(10)])  # its label is in the data
    topic(db_url, "old_topic", [f"旧主题{n}" for n in range(10)])
    with session_scope(db_url) as session:
        get_topic(session, "old_topic").status = TopicStatus.retired

    report = export_examples(db_url, tiny.data, held_out=[tiny.held_out])

    out = tiny.data / "nlu" / "faq_desk.yml"
    assert report.path == out
    text = out.read_text(encoding="utf-8")
    assert text.startswith('version: "3.1"')
    document = yaml.safe_load(text)
    assert [block["intent"] for block in document["nlu"]] == [f"faq/{NEW_KEY}"]
    lines = [line[2:] for line in document["nlu"][0]["examples"].splitlines()]
    assert lines == [NEW_ASK, *NEW_EXAMPLES]
    reasons = sorted(reason for _, reason, _ in report.skipped)
    assert reasons == ["in an evaluation set", "in an evaluation set",
                       "the training data labels it differently"]

    # made again from the records each time
    with session_scope(db_url) as session:
        example = session.scalar(select(PolicyExample).where(PolicyExample.text == NEW_EXAMPLES[0]))
        session.delete(example)
    again = export_examples(db_url, tiny.data, held_out=[tiny.held_out])
    assert NEW_EXAMPLES[0] not in out.read_text(encoding="utf-8")
    assert again.dropped == 1 and again.count == report.count - 1


def test_export_of_no_desk_topics_is_an_empty_file(db_url: str, tmp_path: Path) -> None:
    tiny = write_tiny(tmp_path / "tiny")
    assert export_examples(db_url, tiny.data).count == 0
    assert yaml.safe_load((tiny.data / "nlu" / "faq_desk.yml").read_text("utf-8"))["nlu"] == []


def test_a_second_release_is_refused_while_one_runs(db_url: str) -> None:
    topic(db_url, NEW_KEY, NEW_EXAMPLES, ask=NEW_ASK)
    with session_scope(db_url) as session:
        first = begin_release(session, None)
        assert first.topics == [NEW_KEY] and first.status is ReleaseStatus.running
    with session_scope(db_url) as session, pytest.raises(DeskConflictError) as refused:
        begin_release(session, None)
    assert refused.value.code == "release_running" and refused.value.status == 409
    with session_scope(db_url) as session:
        assert session.scalar(select(ModelRelease.id).where(ModelRelease.id != first.id)) is None
        assert session.scalars(select(DeskAuditEvent.action).order_by(DeskAuditEvent.id)).all() == [
            "knowledge_topic_add", "model_release_start"]


def test_two_releases_started_at_once_make_one(db_url: str) -> None:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press() -> None:
        barrier.wait()
        try:
            with session_scope(db_url) as session:
                begin_release(session, None)
            outcomes.append("started")
        except DeskConflictError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["release_running", "started"]


def test_a_release_running_for_over_an_hour_counts_as_failed(db_url: str) -> None:
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1, minutes=5)
    with session_scope(db_url) as session:
        stale = begin_release(session, None, now=long_ago)
    with session_scope(db_url) as session:
        fresh = begin_release(session, None)
        old = get_release(session, stale.id)
        assert (old.status, old.message) == (ReleaseStatus.failed, STALE_MESSAGE)
        assert old.finished_at is not None and fresh.status is ReleaseStatus.running


def test_a_release_that_cannot_go_on_ends_failed_with_the_reason(
    db_url: str, tmp_path: Path
) -> None:
    """No model recorded and the replica unreachable: failed, never left running."""
    tiny = write_tiny(tmp_path / "tiny")
    with session_scope(db_url) as session:
        release_id = begin_release(session, None).id
    setup = ReleaseSetup(database_url=db_url, replica_urls=(f"http://127.0.0.1:{free_port()}",),
                         rasa_token="t", rasa=RASA, config=TINY_CONFIG,
                         models_dir=tmp_path / "releases", rasa_model_dir=tiny.models,
                         data_dir=tiny.data, domain=tiny.domain, eval_sets=(tiny.held_out,))
    assert run_release(release_id, setup) is ReleaseStatus.failed
    with session_scope(db_url) as session:
        release = get_release(session, release_id)
        assert release.status is ReleaseStatus.failed and release.finished_at is not None
        assert release.message and release.message.startswith("无法确定在用的模型")
        assert release.stage == "导出训练数据"
