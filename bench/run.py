"""Benchmark (`make bench`): prints figures, asserts nothing.

- training time of the model from an empty cache;
- time from starting Rasa and the action server to both healthy;
- resident memory of each process;
- per-turn latency p50/p95 of a scripted 20-turn conversation over REST that
  includes the database actions (verification, look-ups, a complaint), repeated;
- NLU alone per message (Rasa's ``/model/parse``, no dialogue, no actions) over
  the script's texts.

Targets on a 2-core machine: training < 5 min, p95 < 120 ms at one conversation,
NLU < 30 ms per message, Rasa RSS < 1.5 GB.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import requests

from bot.chat import RestConversation
from bot.contract import secure_step_outcome
from bot.records.db import session_scope
from bot.records.seed import DEMO_IDENTITIES
from bot.records.verification import verify_identity
from tests.e2e.stack import RASA_TOKEN, ROOT, Stack

DEMO = DEMO_IDENTITIES[0]
SCRIPT = [
    "你好",
    "我公积金还有好多钱",
    "<secure>",
    "我的贷款还欠多少",
    "提取的钱到账没有",
    "委托提取哪天划款",
    "公积金贷款利率是多少",
    "租房提取一个月能取好多",
    "我要投诉",
    "服务态度",
    "今天上午在大厅办提取窗口工作人员态度很差还吼人",
    "后子门一站式服务大厅",
    "不知道",
    "13812345678",
    "确认",
    "<status>",
    "联名卡要收年费吗",
    "谢谢",
    "再见",
    "1",
]


def measure_training() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONHASHSEED="0")
        start = time.monotonic()
        subprocess.run(
            [str(ROOT / ".venv/rasa/bin/rasa"), "train", "--domain", "domain", "--data", "data",
             "--config", "config.yml", "--augmentation", "0", "--out", tmp, "--fixed-model-name", "bench"],
            cwd=ROOT, env={**env, "RASA_CACHE_DIRECTORY": str(Path(tmp) / "cache")},
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return time.monotonic() - start


def rss_mb(process: subprocess.Popen) -> float:
    parent = psutil.Process(process.pid)
    total = parent.memory_info().rss
    for child in parent.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1024 / 1024


def conversation(stack: Stack) -> list[float]:
    """Run the scripted conversation once; return each turn's latency in seconds."""
    chat = RestConversation(stack.rasa_url)
    latencies, ticket = [], None
    for line in SCRIPT:
        if line == "<secure>":
            with session_scope(stack.database_url) as session:
                result = verify_identity(session, DEMO.id_number, DEMO.password,
                                         channel="rest", conversation_id=chat.sender_id)
            message = secure_step_outcome(result).message()
            start = time.perf_counter()
            chat.send(message)
        else:
            text = f"查一下投诉单{ticket}" if line == "<status>" else line
            start = time.perf_counter()
            replies = chat.say(text)
            for reply in replies:
                ticket = (reply.get("custom") or {}).get("complaint_ticket") or ticket
        latencies.append(time.perf_counter() - start)
    return latencies


def nlu_latencies(stack: Stack, rounds: int) -> list[float]:
    """Seconds per ``/model/parse`` call (NLU only) for every text of the script."""
    texts = [text for text in SCRIPT if not text.startswith("<")]
    http = requests.Session()
    timings = []
    for _ in range(rounds):
        for text in texts:
            start = time.monotonic()
            response = http.post(f"{stack.rasa_url}/model/parse", params={"token": RASA_TOKEN},
                                 json={"text": text}, timeout=10)
            timings.append(time.monotonic() - start)
            response.raise_for_status()
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs of the 20-turn conversation")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args(argv)

    if not args.skip_training:
        print("training from an empty cache …", flush=True)
        print(f"training time:            {measure_training():7.1f} s   (target < 300 s)")

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(workdir=Path(tmp))
        start = time.monotonic()
        stack.start(seed_count=600)
        print(f"start to all healthy:     {time.monotonic() - start:7.1f} s   (incl. seeding 600 depositors)")
        try:
            conversation(stack)  # warm-up
            latencies = [t for _ in range(args.repeat) for t in conversation(stack)]
            for name, process in stack.processes.items():
                print(f"resident memory {name:8}: {rss_mb(process):7.0f} MB" +
                      ("  (target < 1536 MB)" if name == "rasa" else ""))
            ms = [t * 1000 for t in latencies]
            print(f"turn latency over REST:   p50 {percentile(ms, 0.5):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms"
                  f"   max {max(ms):6.1f} ms   mean {statistics.mean(ms):6.1f} ms"
                  f"   ({len(ms)} turns, {args.repeat} conversations; target p95 < 120 ms)")
            nlu = [t * 1000 for t in nlu_latencies(stack, args.repeat)]
            print(f"NLU per message:          p50 {percentile(nlu, 0.5):6.1f} ms   p95 {percentile(nlu, 0.95):6.1f} ms"
                  f"   ({len(nlu)} messages over HTTP /model/parse; target < 30 ms)")
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
