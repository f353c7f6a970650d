"""重新训练并发布: a model that knows the desk's new topics, trained, measured, published.

A supervisor starts a release on the desk (:mod:`bot.gateway.desk.releases`);
:func:`launch` runs it in a background thread of the gateway process
(:func:`run_release`), one at a time (:func:`bot.records.releases.begin_release`).
Each stage is written to the release row as it starts, with its progress:

1. 导出训练数据 (10 %): ``data/`` is copied to a temporary folder and the
   example questions of the desk-added topics are written into it as
   ``nlu/faq_desk.yml`` (:func:`export_examples`).
2. 训练模型 (20 → 70 %): ``rasa train`` with ``RELEASE_CONFIG``.
3. 评估 (80 %): ``scripts/eval_nlu.py`` measures the new model on the held-out
   sets; the baseline is the accuracy recorded for the model in service (for
   the first release, that model is measured too, while the new one trains).
   When the new model's accuracy is lower by more than ``RELEASE_TOLERANCE``
   the release is ``refused`` and nothing is published.
4. 发布 (90 %): the model is kept under ``RELEASE_MODELS_DIR`` and loaded into
   every replica (``RASA_URLS``, :func:`bot.knowledge.replicas.publish`); if one
   fails, those already loaded go back to the previous model and the release
   is ``failed``.
5. 完成 (100 %): ``published``; its topics are live (:func:`mark_live`).

Any error ends the release as ``failed`` with the reason; nothing leaves it
``running`` (and a row running for over an hour counts as failed).
:func:`rollback` puts every replica back on the model before a release.

``export_examples`` is also ``python -m bot.knowledge export``: it writes the
file into ``data/nlu`` for a developer to review and commit.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.knowledge import replicas, training
from bot.nlu.training_data import (
    ExportReport,
    LabelledText,
    example_key,
    held_out_keys,
    plan_export,
    render,
    training_examples,
    write_atomically,
)
from bot.records.audit import Actor
from bot.records.db import session_scope
from bot.records.knowledge_editing import mark_live
from bot.records.knowledge_models import ModelRelease, PolicyTopic, ReleaseStatus, TopicStatus
from bot.records.errors import DeskConflictError
from bot.records.releases import (
    ServiceModel,
    check_rollback,
    finish,
    get_release,
    model_in_service,
    rollback_failed,
    rolled_back,
    running_release,
    set_stage,
)
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

DESK_FILE = "faq_desk.yml"
EVAL_DIR = PROJECT_ROOT / "tests" / "nlu"
EVAL_SET_NAMES = ("heldout.yml", "team_set.yml", "fresh.yml", "kb_heldout.yml")
STAGES = {"export": ("导出训练数据", 10), "train": ("训练模型", 20), "evaluate": ("评估", 80),
          "publish": ("发布", 90), "done": ("完成", 100)}
TRAIN_SPAN = (20, 70)
HEADER = """version: "3.1"

# Example questions of the policy topics added on the desk (政策知识库), which the
# seed training data does not hold. Written by a release (重新训练并发布) and by
# `python -m bot.knowledge export` from the records; change them on the desk.
"""


def evaluation_sets(folder: Path = EVAL_DIR) -> tuple[Path, ...]:
    """The held-out sets that exist: never trained on, measured at every release."""
    return tuple(folder / name for name in EVAL_SET_NAMES if (folder / name).is_file())


def _absolute(value: str | Path) -> Path:
    return Path(PROJECT_ROOT, value)


@dataclass(frozen=True)
class ReleaseSetup:
    """Everything a release needs besides its row (from :class:`Settings`, or a test's)."""

    database_url: str
    replica_urls: tuple[str, ...]
    rasa_token: str
    rasa: Path
    config: Path
    models_dir: Path
    rasa_model_dir: Path
    tolerance: float = 0.005
    data_dir: Path = PROJECT_ROOT / "data"
    domain: Path = PROJECT_ROOT / "domain"
    eval_sets: tuple[Path, ...] = field(default_factory=evaluation_sets)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ReleaseSetup":
        return cls(database_url=settings.database_url, replica_urls=settings.replica_urls,
                   rasa_token=settings.rasa_token, rasa=_absolute(settings.release_rasa),
                   config=_absolute(settings.release_config),
                   models_dir=_absolute(settings.release_models_dir),
                   rasa_model_dir=_absolute(settings.rasa_model_dir),
                   tolerance=settings.release_tolerance)


class ReleaseFailed(RuntimeError):
    """A release cannot go on; the message (Chinese) is stored on its row."""


# ------------------------------------------------------------------ export


def export_examples(url: str, data_dir: str | Path, *,
                    held_out: Iterable[Path] = ()) -> ExportReport:
    """Write ``<data_dir>/nlu/faq_desk.yml``: the examples of topics not in the training data.

    Made again from the records each time. Topics whose ``faq/<key>`` label
    the other files of ``data_dir/nlu`` already hold (the seed topics) are
    left out, as are retired topics; so is any example already in the
    training data (compared by :func:`~bot.nlu.training_data.example_key`) or
    an utterance of an evaluation set (``tests/nlu``'s and ``held_out``).
    """
    nlu_dir = Path(data_dir) / "nlu"
    out = nlu_dir / DESK_FILE
    existing = training_examples(nlu_dir, leave_out=out)
    seeded = set(existing.values())
    with session_scope(url) as session:
        topics = session.scalars(select(PolicyTopic).where(
            PolicyTopic.status != TopicStatus.retired).order_by(PolicyTopic.key))
        rows = [LabelledText(example.id, f"faq/{topic.key}", example.text)
                for topic in topics if f"faq/{topic.key}" not in seeded
                for example in topic.examples]
    before = set(training_examples(nlu_dir)) - set(existing)  # only in the previous file
    sets = {*evaluation_sets(), *held_out}
    written, skipped = plan_export(rows, existing=existing, held_out=held_out_keys(sorted(sets)),
                                   labels=seeded | {row.label for row in rows})
    write_atomically(out, render(written, HEADER))
    now = {example_key(text) for texts in written.values() for text in texts}
    return ExportReport(path=out, written=written, skipped=skipped, dropped=len(before - now))


# ------------------------------------------------------------------ running


def launch(release_id: int, setup: ReleaseSetup) -> threading.Thread:
    """Run the release in a background thread of this process."""
    thread = threading.Thread(target=run_release, args=(release_id, setup),
                              name=f"model-release-{release_id}", daemon=True)
    thread.start()
    return thread


def _stage(setup: ReleaseSetup, release_id: int, stage: str, progress: int | None = None) -> None:
    name, default = STAGES[stage]
    with session_scope(setup.database_url) as session:
        set_stage(session, get_release(session, release_id), name,
                  default if progress is None else progress)


def _progress(setup: ReleaseSetup, release_id: int):  # type: ignore[no-untyped-def]
    low, high = TRAIN_SPAN

    def report(done: int, parts: int) -> None:
        _stage(setup, release_id, "train", low + (high - low) * done // parts)

    return report


def _end(setup: ReleaseSetup, release_id: int, status: ReleaseStatus, message: str,
         **values: object) -> None:
    with session_scope(setup.database_url) as session:
        release = get_release(session, release_id)
        for name, value in values.items():
            setattr(release, name, value)
        finish(session, release, status, message=message)


def current_model(setup: ReleaseSetup, service: ServiceModel) -> Path:
    """The model file the replicas serve: from the records, else named by the first replica."""
    if service.path:
        return Path(service.path)
    try:
        name = replicas.status(setup.replica_urls[0], setup.rasa_token).get("model_file")
    except replicas.ReplicaError as exc:
        raise ReleaseFailed(f"无法确定在用的模型：{exc}") from exc
    for folder in (setup.models_dir, setup.rasa_model_dir):
        if name and (folder / name).is_file():
            return folder / name
    raise ReleaseFailed(f"找不到在用的模型文件 {name or '（未加载模型）'}。")


def _export(setup: ReleaseSetup, release_id: int, work: Path) -> list[str]:
    """Copy the training data and add the desk's topics; the topics it now teaches."""
    shutil.copytree(setup.data_dir, work / "data")
    report = export_examples(setup.database_url, work / "data", held_out=setup.eval_sets)
    taught = {label.split("/", 1)[1] for label in report.written}
    with session_scope(setup.database_url) as session:
        release = get_release(session, release_id)
        waiting = session.scalars(select(PolicyTopic.key).where(
            PolicyTopic.status == TopicStatus.awaiting_training))
        release.topics = sorted(key for key in waiting if key in taught)
        return list(release.topics)


def run_release(release_id: int, setup: ReleaseSetup) -> ReleaseStatus:
    """Run one release to its end (see the module docstring); returns how it ended."""
    work = Path(tempfile.mkdtemp(prefix=f"model-release-{release_id}-"))
    try:
        return _run(release_id, setup, work)
    except Exception as exc:  # noqa: BLE001 - the row must end, whatever happened
        logger.exception("model release %s failed", release_id)
        message = str(exc) if isinstance(exc, (ReleaseFailed, training.TrainingError)) else \
            f"发布过程出错：{type(exc).__name__}: {exc}"
        try:
            _end(setup, release_id, ReleaseStatus.failed, message)
        except Exception:  # noqa: BLE001
            logger.exception("model release %s: could not record the failure", release_id)
        return ReleaseStatus.failed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(release_id: int, setup: ReleaseSetup, work: Path) -> ReleaseStatus:
    _stage(setup, release_id, "export")
    with session_scope(setup.database_url) as session:
        service = model_in_service(session)
    previous = current_model(setup, service)
    topics = _export(setup, release_id, work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        baseline_run: Future | None = None
        if service.accuracy is None:  # first release: measure the model in service meanwhile
            baseline_run = pool.submit(training.evaluate, setup.rasa, previous, setup.eval_sets,
                                       work / "baseline.json")
        _stage(setup, release_id, "train")
        model = training.train(setup.rasa, config=setup.config, domain=setup.domain,
                               data=work / "data", out=work / "model", name="model",
                               on_part=_progress(setup, release_id))
        _stage(setup, release_id, "evaluate")
        accuracy = training.evaluate(setup.rasa, model, setup.eval_sets,
                                     work / "evaluation.json").accuracy
        baseline = baseline_run.result().accuracy if baseline_run else service.accuracy
    assert baseline is not None
    measured = {"accuracy": accuracy, "baseline_accuracy": baseline,
                "previous_model_path": str(previous)}
    if accuracy < baseline - setup.tolerance:
        _end(setup, release_id, ReleaseStatus.refused,
             f"新模型准确率 {accuracy:.2%} 比在用模型 {baseline:.2%} 低，超过允许的 "
             f"{setup.tolerance:.1%}，未发布。", **measured)
        return ReleaseStatus.refused
    _stage(setup, release_id, "publish")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    setup.models_dir.mkdir(parents=True, exist_ok=True)
    kept = setup.models_dir / f"release-{release_id}-{stamp}.tar.gz"
    shutil.move(str(model), kept)
    os.utime(kept)  # the newest in the directory: what a restarted replica loads
    result = replicas.publish(setup.replica_urls, setup.rasa_token, kept, previous)
    if not result.ok:
        kept.unlink(missing_ok=True)
        _end(setup, release_id, ReleaseStatus.failed, f"发布失败：{result.summary()}", **measured)
        return ReleaseStatus.failed
    with session_scope(setup.database_url) as session:
        release = get_release(session, release_id)
        release.model_path, release.accuracy = str(kept), accuracy
        release.baseline_accuracy, release.previous_model_path = baseline, str(previous)
        set_stage(session, release, *STAGES["done"])
        mark_live(session, topics)
        finish(session, release, ReleaseStatus.published,
               message=f"已发布到 {len(setup.replica_urls)} 个服务实例；新上线主题：" +
               ("、".join(topics) or "无"))
    return ReleaseStatus.published


def rollback(session: Session, actor: Actor, release: ModelRelease,
             setup: ReleaseSetup) -> dict[str, str]:
    """Load ``release``'s previous model into every replica; then it is ``rolled_back``.

    Refused (:class:`DeskConflictError`) unless ``release`` is the published
    release in service and no release runs. Returns the replicas that did not
    load the previous model (url -> why); the row changes only when all did
    (either way an audit row is written). The caller commits.
    """
    check_rollback(session, release)
    if running_release(session) is not None:
        raise DeskConflictError("release_running")
    failed = replicas.load_everywhere(setup.replica_urls, setup.rasa_token,
                                      str(release.previous_model_path))
    if not failed and Path(str(release.previous_model_path)).is_file():
        os.utime(str(release.previous_model_path))  # a restarted replica loads it too
    if failed:
        rollback_failed(session, actor, release,
                        "；".join(f"{url}：{why}" for url, why in failed.items()))
    else:
        rolled_back(session, actor, release)
    return failed
