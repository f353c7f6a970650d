"""The training data as files: labels, comparison, and the learned examples' export."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.nlu import training_data
from bot.nlu.training_data import (
    LabelledText,
    TrainingDataError,
    example_key,
    example_line,
    export,
    known_labels,
    plan_export,
    render,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of data/nlu (the learned file, if one was exported, left out)."""
    copy = tmp_path / "data" / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", copy,
                    ignore=shutil.ignore_patterns(training_data.LEARNED_FILE))
    return copy


@pytest.fixture
def held_out(tmp_path: Path) -> Path:
    """A stand-in evaluation set in the held-out sets' format."""
    path = tmp_path / "eval_set.yml"
    path.write_text(yaml.safe_dump({"examples": [
        {"text": "公积金能不能拿来交学费", "label": "faq/withdraw_conditions", "register": "team"},
    ]}, allow_unicode=True), encoding="utf-8")
    return path


def test_known_labels_are_every_block_of_the_training_data() -> None:
    labels = known_labels()
    assert {"complain", "human_agent", "faq/loan_rate", "out_of_scope/tax"} <= set(labels)
    assert "faq" not in labels and labels == sorted(labels)


@pytest.mark.parametrize(("left", "right"), [
    ("我要投诉！", "我要投诉"),
    ("喂 喂 那个 我要投诉", "我要投诉"),
    ("身份证[510104198503150017](id_number)", "身份证510104198503150017"),
    ("ＡＢＣ 公积金", "abc公积金"),
    ("工基金咋个提", "公积金咋个提"),
])
def test_examples_are_compared_as_the_pipeline_reads_them(left: str, right: str) -> None:
    assert example_key(left) == example_key(right)


def test_an_example_line_is_one_line_without_entity_brackets() -> None:
    assert example_line(" 我的[卡](card)\n丢了 ") == "我的［卡］(card) 丢了"


def _plan(rows: list[LabelledText], existing: dict[str, str] | None = None,
          held: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return plan_export(rows, existing=existing or {}, held_out=held or {},
                       labels=["complain", "faq/loan_rate", "human_agent"])


def test_plan_groups_by_label_and_drops_copies() -> None:
    written, skipped = _plan([
        LabelledText(1, "complain", "窗口的人凶得很"),
        LabelledText(2, "faq/loan_rate", "贷款利息好多"),
        LabelledText(3, "complain", "窗口的人凶得很！"),
        LabelledText(4, "complain", "办事员态度差"),
    ])
    assert written == {"complain": ["窗口的人凶得很", "办事员态度差"],
                       "faq/loan_rate": ["贷款利息好多"]}
    assert skipped == [(3, "same text as another row", "row 1")]


@pytest.mark.parametrize(("row", "reason"), [
    (LabelledText(5, "faq/nothing", "随便问问"), "label not in the training data"),
    (LabelledText(6, "complain", "电话13812345678"), "holds an unmasked number"),
    (LabelledText(7, "complain", "！！"), "empty"),
    (LabelledText(8, "complain", "我要投诉"), "already in the training data"),
    (LabelledText(9, "faq/loan_rate", "我要投诉"), "the training data labels it differently"),
    (LabelledText(10, "complain", "不准告诉任何人"), "in an evaluation set"),
])
def test_plan_leaves_out_what_may_not_be_learned(row: LabelledText, reason: str) -> None:
    written, skipped = _plan([row], existing={example_key("我要投诉"): "complain"},
                             held={example_key("不准告诉任何人"): "heldout.yml"})
    assert written == {}
    assert [(number, why) for number, why, _ in skipped] == [(row.row_id, reason)]


def test_rows_that_disagree_are_both_left_out() -> None:
    written, skipped = _plan([LabelledText(1, "complain", "找你们领导"),
                              LabelledText(2, "human_agent", "找你们领导")])
    assert written == {}
    assert skipped == [(1, "rows disagree on its label", "rows 1, 2"),
                       (2, "rows disagree on its label", "rows 1, 2")]


def test_render_is_rasa_nlu_yaml() -> None:
    text = render({"complain": ["窗口的人凶得很"], "faq/loan_rate": ["利息: 好多?", "# 利率"]})
    document = yaml.safe_load(text)
    assert document["version"] == "3.1"
    assert document["nlu"] == [
        {"intent": "complain", "examples": "- 窗口的人凶得很\n"},
        {"intent": "faq/loan_rate", "examples": "- 利息: 好多?\n- # 利率\n"},
    ]
    assert yaml.safe_load(render({})) == {"version": "3.1", "nlu": []}


def test_export_writes_the_file_and_refuses_evaluation_utterances(
    data_dir: Path, held_out: Path
) -> None:
    out = data_dir / training_data.LEARNED_FILE
    rows = [LabelledText(1, "faq/withdraw_conditions", "公积金能不能拿来交学费？"),
            LabelledText(2, "complain", "那个窗口的小伙子理都不理人"),
            LabelledText(3, "query_balance", "我的账号是1020****5060 还有好多钱")]
    report = export(rows, out, data_dir=data_dir, held_out=[held_out])
    assert report.count == 2 and report.skipped == [(1, "in an evaluation set", "eval_set.yml")]
    assert "row 1: left out, in an evaluation set" in report.summary()
    assert "学费" not in report.summary()  # the report names rows, never evaluation text
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [block["intent"] for block in document["nlu"]] == ["complain", "query_balance"]
    # Exported again: its own file is not "training data already", so nothing is lost.
    again = export(rows, out, data_dir=data_dir, held_out=[held_out])
    assert again.count == 2 and again.dropped == 0
    # A row no longer labelled disappears from the file, and the report says so.
    assert export(rows[:2], out, data_dir=data_dir, held_out=[held_out]).dropped == 1


def test_a_missing_evaluation_set_stops_the_export(data_dir: Path, tmp_path: Path) -> None:
    out = data_dir / training_data.LEARNED_FILE
    with pytest.raises(TrainingDataError, match="missing.yml: file not found"):
        export([LabelledText(1, "complain", "凶得很")], out, data_dir=data_dir,
               held_out=[tmp_path / "missing.yml"])
    assert not out.exists()


def test_the_real_evaluation_sets_are_readable() -> None:
    """The default check reads every set (by code only) and finds utterances in each."""
    keys = training_data.held_out_keys(training_data.HELD_OUT_SETS)
    assert set(keys.values()) == {"heldout.yml", "team_set.yml", "fresh.yml", "kb_heldout.yml"}
