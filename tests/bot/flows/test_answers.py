"""flows/answers.yml: what an answer inside a form means, by its words; the loader names file and fault."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows import FlowsError
from bot.flows.answers import KINDS, form_answers, read_answer

FORM = "complaint_form"


@pytest.mark.parametrize(
    "said",
    ["对", "对对对", "是的", "没问题", "没有问题", "没得问题", "提交嘛", "就这样", "就这样嘛 拜拜", "好的嘛就这样",
     "对的 就这样 提交嘛", "要得", "对头", "OK", "嗯嗯", "可以", "行"],
)
def test_confirmations(said):
    answer = read_answer(said, FORM)
    assert answer.confirm and not answer.change and not answer.stop


@pytest.mark.parametrize(
    "said, items",
    [("不对", ()), ("不是的", ()), ("不对头", ()), ("先不要提交", ()), ("不可以", ()), ("修改", ()),
     ("电话不对", ("complaint_phone",)), ("改电话", ("complaint_phone",)),
     ("电话号码写错了", ("complaint_phone",)), ("地点改成网上", ("complaint_location",)),
     ("对，但是电话和地点都要改一下", ("complaint_location", "complaint_phone")),
     ("我想补充一下经过", ("complaint_description",))],
)
def test_changes_outweigh_confirmations_and_name_their_items(said, items):
    answer = read_answer(said, FORM)
    assert answer.change and not answer.confirm and not answer.stop
    assert answer.items == items


@pytest.mark.parametrize("said", ["全部重填", "都不对", "重新来"])
def test_everything(said):
    assert read_answer(said, FORM).everything


@pytest.mark.parametrize(
    "said",
    ["算了", "算了算了", "取消", "算了 不投诉了", "好吧那就算了", "我不想投诉了", "还是算了吧，谢谢", "不办了",
     "先不预约了", "那算了"],
)
def test_stops(said):
    assert read_answer(said).stop


@pytest.mark.parametrize(
    "said",
    # A stop word inside an answer the form can use is part of that answer.
    ["窗口说我的提取申请被取消了", "他说算了不给我办", "取消委托提取协议的时候多扣了钱", "算了一下少了两百"],
)
def test_stop_words_inside_an_answer_are_no_stop(said):
    assert not read_answer(said).stop


@pytest.mark.parametrize(
    "said",
    # One-character words count only when the rest of the answer is known words.
    ["在银行", "你们几点下班", "收到了吗", "13812345678", "", "   ", "是这样吗我不太懂", "asdf"],
)
def test_answers_that_mean_nothing_here(said):
    answer = read_answer(said, FORM)
    assert not (answer.confirm or answer.change or answer.stop or answer.keep)


def test_keep_at_the_change_question():
    assert read_answer("不改了", FORM).keep and not read_answer("不改了", FORM).change


def test_shipped_answers_are_valid():
    answers = form_answers()
    assert set(answers.words) == set(KINDS)
    assert "complaint_phone" in answers.items[FORM]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "answers.yml").write_text(text, encoding="utf-8")
    return tmp_path


LISTS = "\n".join(f"  {kind}: [{kind}词]" for kind in KINDS)


@pytest.mark.parametrize(
    "text, fault",
    [
        ("answers: [a]", "'answers' must be a mapping"),
        ("answers:\n  confirm: [对]", "answers.stop: must be a non-empty list"),
        (f"answers:\n{LISTS}\n  maybe: [也许]", "unknown list(s)"),
        (f"answers:\n{LISTS.replace('[stop词]', '[confirm词]')}", "'confirm词' is in both answers.stop and answers.confirm"),
        (f"answers:\n{LISTS}\nitems:\n  complaint_form:\n    complaint_phone: [around词]", "is in both"),
        (f"answers:\n{LISTS}\nitems:\n  complaint_form: []", "must map slots to words"),
        ("answers: [", "not valid YAML"),
    ],
)
def test_broken_answers_name_file_and_fault(tmp_path, text, fault):
    with pytest.raises(FlowsError) as error:
        form_answers(write(tmp_path, text))
    assert "answers.yml" in str(error.value) and fault in str(error.value)
