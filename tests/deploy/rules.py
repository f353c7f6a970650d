"""The project's own rules for the Kubernetes manifests in ``deploy/k8s``.

The schema validator (``kubernetes-validate``) says whether each document is a
valid Kubernetes object; these functions say whether the manifests are right
for this project. Each takes the parsed documents (a list of dicts) and returns
its problems in words, an empty list when there are none, so that a test can
show that a broken copy of the manifests is caught.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = PROJECT_ROOT / "deploy" / "k8s"
SECRETS_EXAMPLE = K8S_DIR / "examples" / "secrets.example.yaml"
IMAGE_ROOT = "/app"  # where the image keeps the repository (workingDir)
IMAGE_NAME = "hotline96319"  # the name kustomize's release-image component replaces

WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")
# Settings whose value is a secret (bot/settings.py, .env.example, the brief),
# and any name that says it is one.
SECRET_SETTINGS = frozenset({
    "SECRET_KEY", "GATEWAY_CHANNEL_SECRET", "RASA_TOKEN", "ACTION_SERVER_SECRET",
    "METRICS_TOKEN", "DATABASE_URL", "TRACKER_DB_URL", "TRACKER_DB_HOST", "TRACKER_DB_USER",
    "TRACKER_DB_PASSWORD", "REDIS_URL", "REDIS_HOST", "REDIS_PASSWORD",
    "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID",
})
SECRET_LOOKING = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE")
# Long-running containers that serve no HTTP and so have no probe, with why.
NO_PROBE = {"sms": "the SMS sender is a loop without a port; it restarts when it exits"}
# Probe paths per component: Rasa's `/status` needs the token, so its probes use `/`.
PROBE_PATHS = {
    "gateway": {"readinessProbe": "/readyz", "livenessProbe": "/livez", "startupProbe": "/livez"},
    "rasa": {"readinessProbe": "/", "livenessProbe": "/", "startupProbe": "/"},
    "actions": {"readinessProbe": "/health", "livenessProbe": "/health"},
}


# ------------------------------------------------------------------ loading

def manifest_files(root: Path = K8S_DIR) -> list[Path]:
    """Every Kubernetes manifest under ``root`` (kustomizations are not Kubernetes objects)."""
    return sorted(p for p in root.rglob("*.yaml") if p.name != "kustomization.yaml")


def load(paths: list[Path]) -> list[dict[str, Any]]:
    """Every non-empty document of ``paths``, each marked with its file."""
    docs = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                doc["__file__"] = path.relative_to(PROJECT_ROOT).as_posix()
                docs.append(doc)
    return docs


def deployed(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents that are applied (not the example Secrets)."""
    return [d for d in docs if "/examples/" not in d["__file__"]]


def name_of(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata'].get('name') or doc['metadata'].get('generateName')}"


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["metadata"]["labels"]


def containers(doc: dict[str, Any], init: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``Kind/name container``, container) of a workload, init containers first."""
    spec = pod_spec(doc)
    for container in (spec.get("initContainers") or []) if init else []:
        yield f"{name_of(doc)} init container {container['name']}", container
    for container in spec["containers"]:
        yield f"{name_of(doc)} container {container['name']}", container


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in deployed(docs) if d["kind"] in WORKLOADS]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for doc in deployed(docs):
        if doc["kind"] == kind and doc["metadata"].get("name") == name:
            return doc
    raise LookupError(f"no {kind}/{name} in deploy/k8s")


def config_data(docs: list[dict[str, Any]]) -> dict[str, str]:
    return find(docs, "ConfigMap", "hotline-config")["data"]


# ------------------------------------------------------------------ rules

def resource_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every container requests and limits both CPU and memory."""
    problems = []
    for doc in workloads(docs):
        for where, container in containers(doc):
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(bound) or {})
                if missing:
                    problems.append(f"{where}: no {bound} for {', '.join(sorted(missing))}")
    return problems


def probe_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every long-running container has readiness and liveness probes on its own port."""
    problems = []
    for doc in workloads(docs):
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        component = pod_labels(doc).get("app.kubernetes.io/component", "")
        for where, container in containers(doc, init=False):
            if component in NO_PROBE:
                continue
            ports = {p.get("name") for p in container.get("ports") or []} | {
                p["containerPort"] for p in container.get("ports") or []}
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"{where}: no {probe}")
            for probe, path in PROBE_PATHS.get(component, {}).items():
                http = (container.get(probe) or {}).get("httpGet")
                if http is None:
                    problems.append(f"{where}: {probe} is not an HTTP GET of {path}")
                elif http.get("path") != path:
                    problems.append(f"{where}: {probe} asks {http.get('path')}, not {path}")
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                http = (container.get(probe) or {}).get("httpGet")
                if http and http.get("port") not in ports:
                    problems.append(f"{where}: {probe} port {http.get('port')} is not declared")
    return problems


def security_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Non-root, no privilege escalation, no capabilities, read-only root, seccomp."""
    problems = []
    for doc in workloads(docs):
        pod = pod_spec(doc).get("securityContext") or {}
        if pod.get("runAsNonRoot") is not True:
            problems.append(f"{name_of(doc)}: pod securityContext.runAsNonRoot is not true")
        if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{name_of(doc)}: pod seccompProfile is not RuntimeDefault")
        if pod_spec(doc).get("automountServiceAccountToken") is not False:
            problems.append(f"{name_of(doc)}: mounts a service account token it never uses")
        if pod_spec(doc).get("enableServiceLinks") is not False:
            # Kubernetes would set GATEWAY_PORT=tcp://…, RASA_PORT… from the Services,
            # and GATEWAY_PORT is one of the gateway's settings
            problems.append(f"{name_of(doc)}: enableServiceLinks is not false")
        for where, container in containers(doc):
            context = container.get("securityContext") or {}
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if (context.get("capabilities") or {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: does not drop ALL capabilities")
            if context.get("runAsNonRoot") is False or context.get("runAsUser") == 0:
                problems.append(f"{where}: runs as root")
    return problems


def is_secret_setting(name: str) -> bool:
    return name in SECRET_SETTINGS or bool(SECRET_LOOKING.search(name))


def secret_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Secret settings come only from Secrets (secretKeyRef), never as values in git."""
    problems = []
    for key, value in config_data(docs).items():
        if is_secret_setting(key):
            problems.append(f"ConfigMap/hotline-config holds the secret setting {key}")
        if re.search(r"://[^/@\s]+:[^/@\s]+@", str(value)):
            problems.append(f"ConfigMap/hotline-config {key} holds a URL with a password")
    for doc in workloads(docs):
        for where, container in containers(doc):
            for env in container.get("env") or []:
                name = env["name"]
                if not is_secret_setting(name):
                    continue
                if "value" in env or "secretKeyRef" not in (env.get("valueFrom") or {}):
                    problems.append(f"{where}: {name} does not come from a secretKeyRef")
            for source in container.get("envFrom") or []:
                if "configMapRef" in source and source["configMapRef"]["name"] != "hotline-config":
                    problems.append(f"{where}: envFrom an unknown ConfigMap")
            for arg in (container.get("command") or []) + (container.get("args") or []):
                for name in SECRET_SETTINGS:
                    if name in str(arg) and f"$({name})" not in str(arg):
                        problems.append(f"{where}: argument {arg!r} names {name} without $({name})")
    return problems


def secret_refs(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    refs = set()
    for doc in workloads(docs):
        for _, container in containers(doc):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"]))
    return refs


def secret_example_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every (Secret, key) a pod reads is in the example, with a placeholder value."""
    example = {(d["metadata"]["name"], key): value for d in docs
               if d["kind"] == "Secret" and "/examples/" in d["__file__"]
               for key, value in (d.get("stringData") or {}).items()}
    problems = [f"secretKeyRef {name}/{key} is not in {SECRETS_EXAMPLE.name}"
                for name, key in sorted(secret_refs(docs) - set(example))]
    problems += [f"{SECRETS_EXAMPLE.name}: {name}/{key} holds no <placeholder>"
                 for (name, key), value in sorted(example.items())
                 if "<" not in str(value) and key not in ("TRACKER_DB_USER",)]
    problems += [f"Secret/{d['metadata']['name']} is applied from {d['__file__']}: "
                 "secrets are never in git" for d in deployed(docs) if d["kind"] == "Secret"]
    return problems
