"""The Rasa pod of deploy/k8s/rasa.yaml, run here as a real process from its own manifest.

No cluster runs here, so the StatefulSet's init container and Rasa container are
run on this machine exactly as written, with the image's paths mapped to the
checkout (``/app`` → the project, ``/models`` → a temporary folder) and the
environment the pod would get: the ConfigMap, and for each secretKeyRef a
value for this machine (a fresh PostgreSQL tracker database, the local Redis,
new random keys). It shows that the init container's copy of the model is
complete and done once, that Rasa starts in production from these arguments
(its preflight passes), that the probe path ``/`` answers without the token
while ``/status`` refuses it, and that Rasa stops on SIGTERM within the pod's
grace period.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import make_url

from tests.deploy import rules
from tests.deploy.rules import IMAGE_ROOT, PROJECT_ROOT
from tests.e2e.stack import free_port, latest_model

MODELS = "/models"  # the models volume's mount path in the pod


def localise(text: str, models: Path) -> str:
    """An image path or a shell script of the pod, with this machine's folders."""
    def at_start(path: str) -> str:  # a path that begins there, not /app/var/models
        return rf"(?<![\w.-]){path}(?=/|$|\W)"

    text = re.sub(at_start(MODELS), lambda _: str(models), text)
    return re.sub(at_start(IMAGE_ROOT), lambda _: str(PROJECT_ROOT), text)


@pytest.fixture(scope="module")
def pod() -> dict[str, Any]:
    docs = rules.load(rules.manifest_files())
    rasa = rules.find(docs, "StatefulSet", "rasa")
    return {"spec": rasa["spec"]["template"]["spec"], "config": rules.config_data(docs)}


def seed_models(pod: dict[str, Any], models: Path) -> None:
    init = pod["spec"]["initContainers"][0]
    command = [localise(part, models) for part in init["command"]]
    subprocess.run(command, check=True, timeout=120, cwd=PROJECT_ROOT)


def test_the_init_container_copies_the_image_model_once(pod, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    seed_models(pod, models)
    model = latest_model()
    copied = models / model.name
    assert sorted(p.name for p in models.iterdir()) == [model.name]  # no partial file left
    assert copied.stat().st_size == model.stat().st_size
    published = models / "release-1-20260701-000000.tar.gz"  # a desk release since then
    published.write_bytes(b"model")
    before = copied.stat().st_mtime_ns
    seed_models(pod, models)
    assert copied.stat().st_mtime_ns == before  # not copied again: the release stays newest


def pod_environment(pod: dict[str, Any], tracker_db_url: str, home: Path) -> dict[str, str]:
    """The ConfigMap, then each env entry; secrets and managed services are this machine's."""
    tracker = make_url(tracker_db_url)
    here = {"TRACKER_DB_HOST": tracker.host, "TRACKER_DB_USER": tracker.username,
            "TRACKER_DB_PASSWORD": tracker.password or "", "REDIS_HOST": "127.0.0.1",
            "REDIS_PASSWORD": ""}
    environment = {"PATH": os.environ["PATH"], **pod["config"],
                   "TRACKER_DB_PORT": str(tracker.port), "TRACKER_DB_NAME": tracker.database,
                   "HOME": str(home), "RASA_CACHE_DIRECTORY": str(home / "rasa-cache")}
    container = pod["spec"]["containers"][0]
    for env in container["env"]:
        if "value" in env:
            environment[env["name"]] = localise(env["value"], home)
        else:
            ref = env["valueFrom"]["secretKeyRef"]
            environment[env["name"]] = here.get(ref["key"], secrets.token_urlsafe(48))
    return environment


@pytest.fixture
def rasa(pod, tracker_db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    models, home = tmp_path / "models", tmp_path / "home"
    models.mkdir()
    home.mkdir()
    seed_models(pod, models)
    container = pod["spec"]["containers"][0]
    environment = pod_environment(pod, tracker_db_url, home)
    port = free_port()
    argv = []
    for arg in container["command"] + container["args"]:
        arg = re.sub(r"\$\((\w+)\)", lambda m: environment[m.group(1)], arg)
        argv.append(localise(arg, models))
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--interface") + 1] = "127.0.0.1"  # the pod listens on all; here loopback
    log = (tmp_path / "rasa.log").open("w")
    process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=environment, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield {"process": process, "url": f"http://127.0.0.1:{port}", "env": environment,
               "log": tmp_path / "rasa.log", "grace": pod["spec"]["terminationGracePeriodSeconds"]}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


def wait_for_probe(rasa: dict[str, Any], path: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert rasa["process"].poll() is None, rasa["log"].read_text()[-3000:]
        try:
            if requests.get(rasa["url"] + path, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"Rasa's {path} did not answer within {timeout} s:\n"
                + rasa["log"].read_text()[-3000:])


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_rasa_starts_from_its_manifest_and_answers_the_probes(rasa, db_backend: str) -> None:
    probe = rasa_probe_path()
    wait_for_probe(rasa, probe)
    refused = requests.get(rasa["url"] + "/status", timeout=5)
    assert refused.status_code in (401, 403)  # a probe there would never pass
    status = requests.get(rasa["url"] + "/status", params={"token": rasa["env"]["RASA_TOKEN"]},
                          timeout=5)
    assert status.status_code == 200
    assert status.json()["model_file"] == latest_model().name
    rasa["process"].send_signal(signal.SIGTERM)  # what the kubelet sends after preStop
    assert rasa["process"].wait(timeout=rasa["grace"]) is not None


def rasa_probe_path() -> str:
    spec = rules.find(rules.load(rules.manifest_files()), "StatefulSet", "rasa")
    container = spec["spec"]["template"]["spec"]["containers"][0]
    paths = {container[p]["httpGet"]["path"] for p in
             ("startupProbe", "readinessProbe", "livenessProbe")}
    assert len(paths) == 1
    return paths.pop()
