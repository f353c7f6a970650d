"""Rasa replicas over Rasa's HTTP API: which model each serves, and loading another.

Every replica runs ``rasa run --enable-api --auth-token …`` (the Procfile); the
token goes in ``?token=``. ``PUT /model`` with ``{"model_file": path}`` makes
a replica load the model at ``path`` (the path is read by the replica, so
models are kept where every replica can read them, ``RELEASE_MODELS_DIR``);
``GET /status`` names the model file it serves (the file name only).

:func:`publish` loads a model into every replica in turn; when one fails, the
replicas that had already loaded it are put back on the previous model, so
that all of them serve one model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import requests

logger = logging.getLogger(__name__)

LOAD_TIMEOUT_SECONDS = 300  # a full model takes tens of seconds to load
STATUS_TIMEOUT_SECONDS = 10


class ReplicaError(RuntimeError):
    """A replica did not answer, or refused the request; the message names it."""


@dataclass
class PublishResult:
    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # url -> why
    restored: list[str] = field(default_factory=list)
    not_restored: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [f"{url} 加载失败：{why}" for url, why in self.failed.items()]
        if self.restored:
            parts.append(f"已恢复为上一个模型：{'、'.join(self.restored)}")
        parts.extend(f"{url} 未能恢复上一个模型：{why}" for url, why in self.not_restored.items())
        return "；".join(parts)


def _why(response: requests.Response) -> str:
    try:
        body = response.json()
        detail = body.get("message") or body.get("reason") or ""
    except ValueError:
        detail = response.text[:200]
    return f"HTTP {response.status_code} {detail}".strip()


def status(url: str, token: str) -> dict:
    """The replica's ``GET /status`` (``model_file``, ``model_id``)."""
    try:
        response = requests.get(f"{url}/status", params={"token": token},
                                timeout=STATUS_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ReplicaError(f"{url} 无法连接（{type(exc).__name__}）") from exc
    if not response.ok:
        raise ReplicaError(f"{url} 状态查询失败：{_why(response)}")
    return response.json()


def load_model(url: str, token: str, model: Path | str) -> None:
    """Make the replica load ``model`` (``PUT /model``); raise ReplicaError if it did not."""
    try:
        response = requests.put(f"{url}/model", params={"token": token},
                                json={"model_file": str(model)}, timeout=LOAD_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ReplicaError(f"无法连接（{type(exc).__name__}）") from exc
    if response.status_code != 204:
        raise ReplicaError(_why(response))


def load_everywhere(urls: list[str] | tuple[str, ...], token: str,
                    model: Path | str) -> dict[str, str]:
    """Load ``model`` into every replica; returns the ones that failed (url -> why)."""
    failed: dict[str, str] = {}
    for url in urls:
        try:
            load_model(url, token, model)
        except ReplicaError as exc:
            logger.warning("replica %s did not load %s: %s", url, model, exc)
            failed[url] = str(exc)
    return failed


def publish(urls: list[str] | tuple[str, ...], token: str, model: Path | str,
            previous: Path | str | None) -> PublishResult:
    """Load ``model`` into every replica; on a failure put the loaded ones back on ``previous``."""
    result = PublishResult()
    for url in urls:
        try:
            load_model(url, token, model)
        except ReplicaError as exc:
            logger.warning("replica %s did not load %s: %s", url, model, exc)
            result.failed[url] = str(exc)
            break
        result.loaded.append(url)
    if result.ok:
        return result
    for url in result.loaded:
        if previous is None:
            result.not_restored[url] = "没有上一个模型"
            continue
        try:
            load_model(url, token, previous)
            result.restored.append(url)
        except ReplicaError as exc:
            result.not_restored[url] = str(exc)
    return result
