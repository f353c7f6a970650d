"""Training and measuring a model in the Rasa environment, as subprocesses.

The application never imports Rasa: :func:`train` runs ``rasa train`` (the
Rasa executable of ``RELEASE_RASA``, normally ``.venv/rasa/bin/rasa``) and
:func:`evaluate` runs ``scripts/eval_nlu.py`` with the Python beside it, from
the project folder (the custom NLU components are ``bot.nlu``). Both are given
a deadline well under the hour after which a release counts as failed
(:data:`bot.records.releases.STALE_AFTER`).

Accuracy is the share of utterances labelled right over all the evaluation
sets together (``eval_nlu.py``'s "intent + FAQ key accuracy", out-of-scope
rejected counts as right), read from its ``--json`` output.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

TRAIN_TIMEOUT_SECONDS = 40 * 60
EVAL_TIMEOUT_SECONDS = 10 * 60
EVAL_SCRIPT = PROJECT_ROOT / "scripts" / "eval_nlu.py"
_TRAINED = ("Finished training component", "Restored component")


class TrainingError(RuntimeError):
    """Training or evaluation did not complete; the message says why (in Chinese)."""


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    total: int
    by_set: dict[str, float]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(PROJECT_ROOT), RASA_TELEMETRY_ENABLED="false",
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    return env


def rasa_python(rasa: Path) -> Path:
    """The Python of the Rasa environment: beside its ``rasa`` executable."""
    return rasa.parent / "python"


def trained_parts(config: Path) -> int:
    """How many components and policies the config names (for the progress bar)."""
    try:
        document = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return 1
    return max(len(document.get("pipeline") or []) + len(document.get("policies") or []), 1)


def _tail(log: Path, lines: int = 8) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    marked = [line for line in text if any(word in line for word in
                                           ("Error", "ERROR", "Exception", "Invalid"))]
    return " | ".join((marked or text)[-lines:])[-600:]


def train(rasa: Path, *, config: Path, domain: Path, data: Path, out: Path, name: str,
          on_part: Callable[[int, int], None] | None = None,
          timeout: float = TRAIN_TIMEOUT_SECONDS) -> Path:
    """``rasa train`` into ``out/<name>.tar.gz``; ``on_part(done, parts)`` as parts finish."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "train.log"
    parts, done = trained_parts(config), 0
    command = [str(rasa), "train", "--domain", str(domain), "--data", str(data),
               "--config", str(config), "--augmentation", "0", "--out", str(out),
               "--fixed-model-name", name]
    try:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment(),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, errors="replace")
    except OSError as exc:
        raise TrainingError(f"无法启动训练（{rasa}：{exc.strerror or exc}）") from exc
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        process.kill()

    timer = threading.Timer(timeout, stop)
    timer.start()
    try:
        with log.open("w", encoding="utf-8") as stream:
            assert process.stdout is not None
            for line in process.stdout:
                stream.write(line)
                if on_part is not None and any(word in line for word in _TRAINED):
                    done += 1
                    on_part(min(done, parts), parts)
        code = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    model = out / f"{name}.tar.gz"
    if expired.is_set():
        raise TrainingError(f"训练超过 {int(timeout // 60)} 分钟未完成，已停止。")
    if code != 0 or not model.is_file():
        raise TrainingError(f"训练失败（退出码 {code}）：{_tail(log)}")
    return model


def evaluate(rasa: Path, model: Path, sets: Sequence[Path], out: Path, *,
             timeout: float = EVAL_TIMEOUT_SECONDS) -> Evaluation:
    """Measure ``model`` on the evaluation ``sets`` with ``scripts/eval_nlu.py --json``."""
    if not sets:
        raise TrainingError("没有可用的评估集。")
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".log")
    command = [str(rasa_python(rasa)), str(EVAL_SCRIPT), "--model", str(model),
               *map(str, sets), "--json", str(out)]
    try:
        with log.open("w", encoding="utf-8") as stream:
            completed = subprocess.run(command, cwd=PROJECT_ROOT, env=environment(),
                                       stdout=stream, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise TrainingError(f"评估超过 {int(timeout // 60)} 分钟未完成，已停止。") from exc
    except OSError as exc:
        raise TrainingError(f"无法启动评估（{exc.strerror or exc}）") from exc
    if completed.returncode != 0 or not out.is_file():
        raise TrainingError(f"评估失败（退出码 {completed.returncode}）：{_tail(log)}")
    return read_evaluation(out)


def read_evaluation(path: Path) -> Evaluation:
    """Overall accuracy from ``eval_nlu.py --json``: right answers over all utterances."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        by_set = {name: (float(result["accuracy"]), int(result["total"]))
                  for name, result in document.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TrainingError(f"评估结果无法读取（{type(exc).__name__}）") from exc
    total = sum(count for _, count in by_set.values())
    if not total:
        raise TrainingError("评估集为空。")
    right = sum(accuracy * count for accuracy, count in by_set.values())
    return Evaluation(accuracy=right / total, total=total,
                      by_set={name: accuracy for name, (accuracy, _) in by_set.items()})
