"""Benchmark of the phone line (`python -m bench.voice`): prints figures, asserts nothing.

Starts the real assistant (trained model, action server, seeded records) and
the gateway on loopback, then plays a scripted call with the phone simulator
(signed webhooks, as Twilio sends them) several times, one call at a time:

- webhook latency p50/p95 over all webhooks of the call, and over the turns
  that go to the assistant;
- Rasa's own time for those turns (the HTTP call to its voice channel), and
  the gateway's overhead over calling Rasa directly: each webhook's time
  minus the Rasa call inside it (signature check, call state and turn record
  in the database, read-out, TwiML; in the password turn also the argon2
  verification).

Target on this 2-core machine: p95 under 150 ms per turn at one call.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

from bot.gateway import create_app
from bot.gateway.rasa import RasaClient
from bot.gateway.voice.simulator import PhoneSimulator
from bot.records.seed import DEMO_BY_KEY
from bot.settings import load_settings
from tests.e2e.stack import Stack, free_port

DEMO = DEMO_BY_KEY["normal_loan"]
SCRIPT = [
    "#1",                        # balance: the secure step starts
    f"#{DEMO.id_number}#",
    f"#{DEMO.password}#",        # verified, balance read out
    "我的贷款还欠多少",
    "公积金贷款利率现在是多少",
    "#",                         # the # key: main menu
    "#3",                        # policy menu
    "#4",                        # entrusted withdrawal (FAQ by key)
    "我要投诉",
    "#1",
    "今天上午在窗口办提取，工作人员很不耐烦还吼我",
    "后子门大厅",
    "不知道",
    "#13812345678#",
    "#1",                        # confirmed: ticket, SMS to the outbox
    "再见",
    "#1",                        # rating; goodbye and hang-up
]


class TimedSession(requests.Session):
    """A real session that adds up the time spent in requests to Rasa."""

    def __init__(self) -> None:
        super().__init__()
        self.spent = 0.0

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return super().request(*args, **kwargs)
        finally:
            self.spent += time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def line(name: str, values: list[float]) -> str:
    return (f"{name:28} p50 {percentile(values, 0.5):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"
            f"   max {max(values):6.1f} ms   mean {statistics.mean(values):6.1f} ms   (n={len(values)})")


def play(base_url: str, token: str, timer: TimedSession,
         per_step: dict[str, list[float]] | None = None) -> tuple[list[float], list[float], list[float]]:
    """One call; returns (all webhook ms, assistant-turn ms, Rasa ms of those turns)."""
    phone = PhoneSimulator(base_url, token, from_number="+8613800000001")
    webhooks, turns, rasa = [], [], []
    timer.spent = 0.0
    heard = phone.dial()
    webhooks += heard.latencies_ms
    for step in SCRIPT:
        if phone.ended:
            break
        timer.spent = 0.0
        heard = phone.act(step)
        if heard is None:
            break
        webhooks += heard.latencies_ms
        if timer.spent:
            turns.append(sum(heard.latencies_ms))
            rasa.append(timer.spent * 1000)
            if per_step is not None:
                label = "#<password>#" if step == SCRIPT[2] else step
                per_step.setdefault(label, []).append(turns[-1] - rasa[-1])
    phone.hang_up()
    return webhooks, turns, rasa


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured calls (after one warm-up)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(workdir=Path(tmp))
        stack.start(seed_count=60)
        server = None
        try:
            settings = load_settings(stack.env)
            app = create_app({"HOTLINE_SETTINGS": settings})
            timer = TimedSession()
            service = app.extensions["voice"]
            service.dialogue.rasa = RasaClient(settings.rasa_url, channel="voice",
                                               channel_secret=settings.gateway_channel_secret, http=timer)
            port = free_port()
            server = make_server("127.0.0.1", port, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base_url = f"http://127.0.0.1:{port}"

            play(base_url, settings.twilio_auth_token, timer)  # warm-up
            webhooks, turns, rasa = [], [], []
            per_step: dict[str, list[float]] = {}
            for _ in range(args.repeat):
                w, t, r = play(base_url, settings.twilio_auth_token, timer, per_step)
                webhooks += w
                turns += t
                rasa += r
            overhead = [turn - spent for turn, spent in zip(turns, rasa, strict=True)]
            print(f"scripted call: {len(SCRIPT)} caller actions, {args.repeat} calls after a warm-up")
            print(line("every webhook", webhooks))
            print(line("turns with the assistant", turns))
            print(line("  of which Rasa itself", rasa))
            print(line("  gateway overhead", overhead))
            print("target: p95 < 150 ms per turn at one call")
            print("gateway overhead by step (median):")
            for label, values in per_step.items():
                print(f"  {statistics.median(values):6.1f} ms  {label[:30]}")
        finally:
            if server is not None:
                server.shutdown()
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
