"""Load benchmark of the whole stack against bare Rasa (`make bench-load`): prints figures, asserts nothing.

Starts the production layout (:class:`bench.stacks.WholeStack`: PostgreSQL,
Redis lock store, Rasa replicas, action server, gunicorn gateway) and drives
it with Locust (``bench/locustfile.py``, headless, bounded in time): mixed
phone calls (signed Twilio webhooks) and web chats (the widget's API) with
verification, balance, loan, FAQ, a complaint and hand-over, at each offered
rate of a step ramp, open-loop. Then stops it, starts bare single-process
``rasa run`` (:class:`bench.stacks.BareRasa`: same model, REST channel, the
action server) and drives the same conversations' messages at the same rates.

Per step: offered and achieved turns/s, p50/p95/p99 per channel, errors,
CPU seconds per turn (every process of the system, before/after), and after
the ramp resident memory per process. Maximum sustained throughput is the
highest achieved rate of a step with p95 under ``--bound`` ms, no error and
at least 90 % of the offered rate (Poisson arrivals: the count varies). ``--soak 600`` instead runs one rate for
that long and samples resident memory every 30 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.stacks import BareRasa, System, WholeStack
from tests.e2e.stack import ROOT

LOCUST = ROOT / ".venv" / "tools" / "bin" / "locust"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
TARGETS = ("targets: at 30 msg/s p95 ≤ 300 ms and no errors; max sustained ≥ 1.5 × bare Rasa; "
           "one conversation p95 ≤ 120 ms (chat/REST), ≤ 150 ms (voice); stack ≤ 2.5 GB; "
           "soak growth < 5 %")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def cpu_seconds(system: System) -> dict[str, float]:
    """CPU seconds used so far by each part (all its processes)."""
    used = {}
    for name, processes in system.ps().items():
        used[name] = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
                used[name] += times.user + times.system + times.children_user + times.children_system
            except psutil.NoSuchProcess:
                pass
    return used


def rss_mb(system: System) -> dict[str, float]:
    sizes = {}
    for name, processes in system.ps().items():
        if name == "postgresql":  # the machine's shared server: its RSS counts shared buffers
            continue
        size = 0
        for process in processes:
            try:
                size += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        sizes[name] = size / 2**20
    return sizes


@dataclass
class Step:
    target: str
    offered: float
    seconds: float
    achieved: float
    turns: int
    errors: int
    cpu_per_turn: float
    by_channel: dict[str, list[float]]
    error_kinds: dict[str, int]
    by_step: dict[str, list[float]]
    load: float = 0.0  # the machine's 1-minute load average at the end (2 cores)
    retried: int = 0  # requests sent again after a keep-alive close (locustfile.once_more)
    cpu_parts: dict[str, float] = field(default_factory=dict)  # CPU seconds per turn, by part

    def p95(self) -> float:
        return percentile([v for values in self.by_channel.values() for v in values], 0.95)

    def sustained(self, bound: float) -> bool:
        # 90 %: at 10/s over 50 s a Poisson count is within ±4.5 % one time in three
        return self.errors == 0 and self.p95() <= bound and self.achieved >= 0.9 * self.offered

    def lines(self) -> list[str]:
        out = [f"[{self.target}] offered {self.offered:5.1f}/s  achieved {self.achieved:5.1f}/s  "
               f"turns {self.turns}  errors {self.errors}  CPU {self.cpu_per_turn * 1000:5.1f} ms/turn  "
               f"(load average {self.load:.1f}; {self.retried} resent after keep-alive close)",
               "    CPU ms/turn by part: " + ", ".join(f"{name} {used * 1000:.1f}"
                                                     for name, used in self.cpu_parts.items())]
        every = [v for values in self.by_channel.values() for v in values]
        for channel, values in [*sorted(self.by_channel.items()), ("all", every)]:
            if values:
                out.append(f"    {channel:6} p50 {percentile(values, .5):7.1f}  p95 {percentile(values, .95):7.1f}"
                           f"  p99 {percentile(values, .99):7.1f} ms  (n={len(values)})")
        for kind, count in sorted(self.error_kinds.items(), key=lambda item: -item[1])[:5]:
            out.append(f"    error ×{count}: {kind}")
        return out

    def slowest(self, count: int = 8) -> list[str]:
        """The steps with the highest median (where one conversation's time goes)."""
        ranked = sorted(self.by_step.items(), key=lambda item: -percentile(item[1], .5))[:count]
        return [f"      median {percentile(values, .5):6.1f} ms  max {max(values):6.1f} ms  {name[:40]}"
                for name, values in ranked]


def drive(system: System, target: str, rate: float, seconds: float, warmup: float,
          workdir: Path, users: int | None = None) -> Step:
    """One Locust run at ``rate`` turns/s; figures from the samples after ``warmup``."""
    users = users or max(4, int(rate * 3))  # a mean gap of ~3 s between one person's turns
    samples = workdir / f"samples-{target}-{rate:g}-{users}.jsonl"
    tokens = None
    if isinstance(system, BareRasa):  # fresh senders each run: no tracker is reused
        tokens = workdir / f"tokens-{rate:g}-{users}.tsv"
        system.issue_auth_sessions(int(rate * seconds) + 50, tokens)
    env = dict(os.environ, BENCH_TARGET=target, BENCH_RATE=str(rate), BENCH_USERS=str(users),
               BENCH_BASE_URL=system.base_url,
               BENCH_TWILIO_TOKEN=getattr(system, "twilio_token", ""),
               BENCH_PUBLIC_URL=getattr(system, "public_url", ""),
               BENCH_SAMPLES=str(samples), BENCH_TOKENS=str(tokens or ""))
    cpu_before = cpu_seconds(system)
    started = time.time()
    subprocess.run([str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
                    "-r", str(users), "-t", f"{int(seconds)}s", "--host", system.base_url,
                    "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"],
                   env=env, cwd=ROOT, check=False, stdout=subprocess.DEVNULL,
                   stderr=open(workdir / "locust.log", "ab"))
    cpu_after = cpu_seconds(system)
    cpu_parts = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    cpu = sum(cpu_parts.values())
    rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    step = summarise(target, rate, seconds, warmup, rows)
    step.cpu_per_turn = cpu / max(1, len(rows))
    step.cpu_parts = {name: used / max(1, len(rows)) for name, used in cpu_parts.items()}
    retries = Path(f"{samples}.retries")
    step.retried = len(retries.read_text().split()) if retries.exists() else 0
    return step


def summarise(target: str, rate: float, seconds: float, warmup: float, rows: list[dict]) -> Step:
    """Figures of the turns that started after ``warmup`` and within ``seconds`` of the
    first one (after that Locust only lets started conversations finish)."""
    first = min((row["at"] for row in rows), default=0.0)
    window = [row for row in rows if first + warmup <= row["at"] < first + seconds]
    by_channel: dict[str, list[float]] = {}
    kinds: dict[str, int] = {}
    by_step: dict[str, list[float]] = {}
    for row in window:
        if row["ok"]:
            by_channel.setdefault(row["channel"], []).append(row["ms"])
            by_step.setdefault(f'{row["channel"]} {row["step"]}', []).append(row["ms"])
        else:
            kinds[row["error"]] = kinds.get(row["error"], 0) + 1
    ok = sum(len(values) for values in by_channel.values())
    return Step(target, rate, seconds, ok / max(1.0, seconds - warmup), len(window),
                sum(kinds.values()), 0.0, by_channel, kinds, by_step, os.getloadavg()[0])


def ramp(system: System, target: str, rates: list[float], args, workdir: Path) -> list[Step]:
    steps = []
    drive(system, target, 5.0, 20, 0, workdir)  # warm-up: Rasa's first turns load lazily
    spies = profile(system, workdir, max(60.0, args.seconds)) if args.profile else []
    single = drive(system, target, 1.0, max(60.0, args.seconds), args.warmup, workdir, users=1)
    for spy in spies:
        spy.wait()
    single.target = f"{target}, one conversation"
    print("\n".join(single.lines() + ["    slowest steps:"] + single.slowest()), flush=True)
    steps.append(single)
    for rate in rates:
        step = drive(system, target, rate, args.seconds, args.warmup, workdir)
        print("\n".join(step.lines()), flush=True)
        steps.append(step)
        if not step.sustained(args.bound) and rate >= 30:
            break
    return steps


def profile(system: System, workdir: Path, seconds: float) -> list[subprocess.Popen]:
    """py-spy (collapsed stacks, ``profile-<part>-<pid>.txt``) on Rasa and the gateway workers."""
    spies = []
    for name, processes in system.ps().items():
        if name.startswith("rasa") or name == "gateway":
            for process in processes[1:] if name == "gateway" else processes[:1]:
                out = workdir / f"profile-{name}-{process.pid}.txt"
                spies.append(subprocess.Popen(
                    [str(ROOT / ".venv/tools/bin/py-spy"), "record", "--pid", str(process.pid),
                     "--duration", str(int(seconds) + 5), "--format", "raw", "--rate", "200",
                     "--output", str(out), "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=open(workdir / "py-spy.log", "ab")))
    return spies


def print_memory(system: System, label: str) -> float:
    sizes = rss_mb(system)
    total = sum(sizes.values())
    print(f"resident memory, {label}: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in sizes.items())
          + f"; total {total:.0f} MB")
    return total


def soak(system: System, rate: float, seconds: int, workdir: Path) -> None:
    """Drive ``rate`` for ``seconds``; resident memory every 30 s and its growth."""
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        start = time.monotonic()
        while not done.wait(30):
            samples.append((time.monotonic() - start, sum(rss_mb(system).values())))
            print(f"  soak {samples[-1][0]:5.0f} s: {samples[-1][1]:7.0f} MB", flush=True)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    step = drive(system, "stack", rate, seconds, 30, workdir)
    done.set()
    print("\n".join(step.lines()))
    if len(samples) >= 2:
        first, last = samples[0][1], samples[-1][1]
        print(f"soak: {first:.0f} MB at 30 s -> {last:.0f} MB at {samples[-1][0]:.0f} s: "
              f"growth {100 * (last - first) / first:+.1f} % (target < 5 %)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,20,30,40,50", help="offered turns/s of the ramp")
    parser.add_argument("--seconds", type=float, default=60, help="length of each step")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of each step not counted")
    parser.add_argument("--bound", type=float, default=300, help="p95 (ms) of a sustained step")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--skip-stack", action="store_true")
    parser.add_argument("--soak", type=int, default=0, help="soak seconds instead of the ramp")
    parser.add_argument("--soak-rate", type=float, default=20)
    parser.add_argument("--profile", action="store_true",
                        help="py-spy on Rasa and the gateway during the one-conversation step")
    parser.add_argument("--keep", help="a folder to keep logs and per-turn samples in")
    args = parser.parse_args(argv)
    rates = [float(rate) for rate in args.rates.split(",")]
    print(TARGETS, flush=True)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if not args.skip_stack:
            stack = WholeStack(workdir=workdir)
            try:
                stack.start()
                print("stack: make run-production's topology (2 Rasa replicas, action server with "
                      "2 workers, gunicorn gateway 2 × 8 threads, PostgreSQL, Redis)", flush=True)
                if args.soak:
                    soak(stack, args.soak_rate, args.soak, workdir)
                    return 0
                steps = ramp(stack, "stack", rates, args, workdir)
                best["stack"] = max((s.achieved for s in steps[1:] if s.sustained(args.bound)), default=0)
                total = print_memory(stack, "whole stack")
                print(f"whole stack resident: {total / 1024:.2f} GB (target ≤ 2.5 GB)")
            finally:
                stack.stop()
        if not args.skip_bare:
            bare = BareRasa(workdir=workdir)
            try:
                bare.start()
                print("bare: one `rasa run` (REST channel, in-memory tracker), action server", flush=True)
                steps = ramp(bare, "bare", rates, args, workdir)
                best["bare"] = max((s.achieved for s in steps[1:] if s.sustained(args.bound)), default=0)
                print_memory(bare, "bare Rasa")
            finally:
                bare.stop()
    for name, value in best.items():
        print(f"maximum sustained throughput, {name}: {value:.1f} turns/s "
              f"(p95 ≤ {args.bound:.0f} ms, no errors)")
    if best.get("bare") and "stack" in best:
        print(f"ratio stack / bare: {best['stack'] / best['bare']:.2f} (target ≥ 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
