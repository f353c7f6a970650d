"""A tiny assistant for the release tests: training data, domain, held-out set, a Rasa server.

The pipeline is the project's own (``tiny_config.yml``: the number normaliser,
jieba with the fund dictionary, :class:`bot.nlu.classifier.CharNgramClassifier`),
the data a handful of labels, so that ``rasa train`` takes about 25 s. The Rasa
server is started as ``tests/e2e/stack.py`` starts it (``rasa run
--enable-api --auth-token``), on a free loopback port, without a model: the
first model is loaded over the HTTP API once it is trained, which lets the
server start while the model trains.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from bot.knowledge.training import environment
from bot.settings import PROJECT_ROOT
from tests.e2e.stack import RASA, free_port

TINY_CONFIG = Path(__file__).with_name("tiny_config.yml")
TOKEN = "release-test-rasa-token"

# The desk-added topic: its first nine examples, and the topic's ask.
NEW_KEY = "elevator_withdraw"
NEW_ASK = "老小区加装电梯可以提取公积金吗"
NEW_EXAMPLES = [
    "加装电梯能提公积金不", "加装电梯提取要啥子材料", "电梯加装费用可以用公积金付吗",
    "旧房加装电梯提取公积金", "老房子装电梯公积金能取吗", "加装电梯提取额度是多少",
    "装电梯的钱能从公积金里面出吗", "加梯提取公积金咋个办", "既有住宅加装电梯提取",
]
LABELS = {
    "greet": ["你好", "您好", "喂你好", "早上好", "下午好", "你好呀在吗", "哈喽", "喂 有人吗"],
    "goodbye": ["再见", "拜拜", "好的再见", "没事了再见", "挂了哈", "就这样吧再见", "拜拜了您嘞"],
    "thank": ["谢谢", "谢谢你", "多谢了", "太感谢了", "感谢感谢", "谢了哈", "非常感谢您"],
    "faq/loan_rate": ["贷款利率是多少", "公积金贷款利息多少", "现在利率多少", "贷款利息咋个算",
                      "首套房公积金利率", "二套房贷款利率好多", "公积金贷款年利率"],
    "faq/withdraw_rent": ["租房能提公积金吗", "租房提取公积金", "交房租可以用公积金不",
                          "租房子咋个提公积金", "租房提取一个月好多", "没买房租房能取公积金吗"],
}
HELD_OUT = [
    ("你好 请问一下", "greet"), ("喂 你好啊", "greet"), ("好嘞 再见", "goodbye"),
    ("那就先这样 拜拜", "goodbye"), ("谢谢您了", "thank"), ("好的 谢谢", "thank"),
    ("公积金贷款利率现在是多少", "faq/loan_rate"), ("贷款利息是好多", "faq/loan_rate"),
    ("租房子可以提取公积金吗", "faq/withdraw_rent"), ("付房租能用公积金吗", "faq/withdraw_rent"),
]
DOMAIN = """version: "3.1"
intents: [greet, goodbye, thank, faq]
responses:
  utter_greet:
  - text: 您好
  utter_goodbye:
  - text: 再见
  utter_thank:
  - text: 不客气
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
"""
RULES = """version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: goodbye
  steps:
  - intent: goodbye
  - action: utter_goodbye
- rule: thank
  steps:
  - intent: thank
  - action: utter_thank
"""


def nlu_yaml(labels: dict[str, list[str]]) -> str:
    blocks = "".join(f"- intent: {label}\n  examples: |\n" +
                     "".join(f"    - {text}\n" for text in texts)
                     for label, texts in labels.items())
    return f'version: "3.1"\nnlu:\n{blocks}'


@dataclass(frozen=True)
class Tiny:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def bad_data(self) -> Path:
        return self.root / "bad_data"

    @property
    def domain(self) -> Path:
        return self.root / "domain"

    @property
    def held_out(self) -> Path:
        return self.root / "eval" / "heldout.yml"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def releases(self) -> Path:
        return self.root / "releases"


def write_tiny(root: Path) -> Tiny:
    """The tiny assistant's files under ``root``; ``bad_data`` has every intent mislabelled."""
    tiny = Tiny(root)
    names = list(LABELS)
    shuffled = {names[(i + 1) % len(names)]: LABELS[name] for i, name in enumerate(names)}
    for folder, labels in ((tiny.data, LABELS), (tiny.bad_data, shuffled)):
        (folder / "nlu").mkdir(parents=True)
        (folder / "rules").mkdir()
        (folder / "nlu" / "base.yml").write_text(nlu_yaml(labels), encoding="utf-8")
        (folder / "rules" / "rules.yml").write_text(RULES, encoding="utf-8")
    tiny.domain.mkdir()
    (tiny.domain / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    tiny.held_out.parent.mkdir()
    tiny.held_out.write_text("examples:\n" + "".join(
        f"- {{text: {text}, label: {label}, register: colloquial}}\n" for text, label in HELD_OUT),
        encoding="utf-8")
    (root / "endpoints.yml").write_text("# in-memory tracker store, no action server\n",
                                        encoding="utf-8")
    (root / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    return tiny


@dataclass
class RasaServer:
    url: str
    process: subprocess.Popen
    log: Path

    def status(self) -> dict:
        response = requests.get(f"{self.url}/status", params={"token": TOKEN}, timeout=5)
        response.raise_for_status()
        return response.json()

    def parse(self, text: str) -> dict:
        response = requests.post(f"{self.url}/model/parse", params={"token": TOKEN},
                                 json={"text": text}, timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_rasa(tiny: Tiny) -> RasaServer:
    """``rasa run --enable-api`` with no model yet (it answers once it is up)."""
    port = free_port()
    log = tiny.root / "rasa.log"
    empty = tiny.root / "no-model"
    empty.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [str(RASA), "run", "--enable-api", "--auth-token", TOKEN, "--interface", "127.0.0.1",
         "--port", str(port), "--model", str(empty),
         "--endpoints", str(tiny.root / "endpoints.yml"),
         "--credentials", str(tiny.root / "credentials.yml")],
        cwd=PROJECT_ROOT, env={**environment(), "SANIC_HOST": "127.0.0.1"},
        stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    return RasaServer(f"http://127.0.0.1:{port}", process, log)


def wait_up(server: RasaServer, timeout: float = 120.0) -> None:
    """Until the server answers HTTP (``/`` needs no model)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"rasa exited early; see {server.log}")
        try:
            if requests.get(f"{server.url}/", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"rasa not up after {timeout} s; see {server.log}")
