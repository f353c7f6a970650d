"""The Kubernetes manifests (deploy/k8s): valid for the named Kubernetes, and right for us.

Every document goes through ``kubernetes-validate --strict`` (the tools
environment; it bundles the API schemas and needs no network) for
:data:`KUBERNETES_VERSION`; then the project's own rules (:mod:`tests.deploy.rules`,
:mod:`tests.deploy.wiring`). Each rule is also shown a broken copy of the
manifests, to prove it can fail.
"""
from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.deploy import rules, wiring
from tests.deploy.rules import K8S_DIR, PROJECT_ROOT

KUBERNETES_VERSION = "1.32.0"  # the cluster's version; the validator knows 1.x up to 1.37
VALIDATOR = PROJECT_ROOT / ".venv" / "tools" / "bin" / "kubernetes-validate"

Docs = list[dict[str, Any]]


@pytest.fixture(scope="module")
def docs() -> Docs:
    return rules.load(rules.manifest_files())


def validate(*paths) -> subprocess.CompletedProcess:
    assert VALIDATOR.exists(), f"{VALIDATOR} is missing: run `make setup` (tools environment)"
    return subprocess.run([str(VALIDATOR), "--strict", "--kubernetes-version", KUBERNETES_VERSION,
                           *map(str, paths)], capture_output=True, text=True, timeout=120)


def test_every_manifest_is_valid_for_the_named_kubernetes(docs: Docs) -> None:
    result = validate(*rules.manifest_files())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # every document was checked against a schema (an unknown kind only warns)
    assert output.count(" passed for resource ") == len(docs), output
    assert "WARN" not in output, output


def test_the_validator_rejects_a_broken_manifest(tmp_path) -> None:
    broken = tmp_path / "gateway.yaml"
    text = (K8S_DIR / "gateway.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("readinessProbe:", "readinesProbe:", 1), encoding="utf-8")
    result = validate(broken)
    assert result.returncode != 0
    assert "readinesProbe" in result.stdout + result.stderr


RULES: dict[str, Callable[[Docs], list[str]]] = {
    "resources": rules.resource_problems,
    "probes": rules.probe_problems,
    "security": rules.security_problems,
    "secrets": rules.secret_problems,
    "secret example": rules.secret_example_problems,
    "rasa urls": wiring.rasa_urls_problems,
    "image": wiring.image_problems,
    "autoscaling": wiring.autoscaling_problems,
    "rasa environment": wiring.rasa_environment_problems,
    "rasa preflight": wiring.rasa_preflight_problems,
    "settings": wiring.settings_problems,
    "ingress": wiring.ingress_problems,
    "network policies": wiring.network_policy_problems,
}


@pytest.mark.parametrize("rule", RULES)
def test_manifests_keep_the_rule(docs: Docs, rule: str) -> None:
    assert RULES[rule](docs) == []


def _container(docs: Docs, kind: str, name: str) -> dict[str, Any]:
    return rules.find(docs, kind, name)["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict[str, Any], name: str) -> dict[str, Any]:
    return next(env for env in container["env"] if env["name"] == name)


def _no_limits(docs: Docs) -> None:
    del _container(docs, "Deployment", "actions")["resources"]["limits"]


def _no_liveness(docs: Docs) -> None:
    del _container(docs, "StatefulSet", "rasa")["livenessProbe"]


def _rasa_probe_on_status(docs: Docs) -> None:
    _container(docs, "StatefulSet", "rasa")["readinessProbe"]["httpGet"]["path"] = "/status"


def _root(docs: Docs) -> None:
    rules.find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]["securityContext"][
        "runAsNonRoot"] = False


def _service_links(docs: Docs) -> None:
    del rules.find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]["enableServiceLinks"]


def _writable_root(docs: Docs) -> None:
    _container(docs, "Deployment", "sms")["securityContext"]["readOnlyRootFilesystem"] = False


def _token_as_value(docs: Docs) -> None:
    _env(_container(docs, "Deployment", "gateway"), "RASA_TOKEN").update(
        value="x" * 64, valueFrom=None)
    del _env(_container(docs, "Deployment", "gateway"), "RASA_TOKEN")["valueFrom"]


def _password_in_config(docs: Docs) -> None:
    rules.config_data(docs)["REDIS_PASSWORD"] = "hunter2"


def _unknown_secret_key(docs: Docs) -> None:
    _env(_container(docs, "Deployment", "actions"), "DATABASE_URL")["valueFrom"][
        "secretKeyRef"]["key"] = "DB_URL"


def _fourth_replica(docs: Docs) -> None:
    rules.find(docs, "StatefulSet", "rasa")["spec"]["replicas"] = 4


def _hpa_on_rasa(docs: Docs) -> None:
    hpa = copy.deepcopy(rules.find(docs, "HorizontalPodAutoscaler", "gateway"))
    hpa["spec"]["scaleTargetRef"].update(kind="StatefulSet", name="rasa")
    docs.append(hpa)


def _replicas_beside_autoscaler(docs: Docs) -> None:
    rules.find(docs, "Deployment", "gateway")["spec"]["replicas"] = 3


def _lock_store_setting_missing(docs: Docs) -> None:
    del rules.config_data(docs)["REDIS_LOCK_DB"]


def _rasa_with_development_channels(docs: Docs) -> None:
    _container(docs, "StatefulSet", "rasa")["args"][-1] = "credentials.yml"


def _sms_without_redis(docs: Docs) -> None:
    container = _container(docs, "Deployment", "sms")
    container["env"] = [env for env in container["env"] if env["name"] != "REDIS_URL"]


def _actions_without_public_consent(docs: Docs) -> None:
    container = _container(docs, "Deployment", "actions")
    container["env"] = [env for env in container["env"] if env["name"] != "ACTIONS_ALLOW_PUBLIC"]


def _ingress_without_tls(docs: Docs) -> None:
    del rules.find(docs, "Ingress", "gateway")["spec"]["tls"]


def _rasa_open_to_all(docs: Docs) -> None:
    rules.find(docs, "NetworkPolicy", "rasa-from-gateway")["spec"]["ingress"][0]["from"] = [
        {"namespaceSelector": {}}]


def _other_image(docs: Docs) -> None:
    _container(docs, "Deployment", "actions")["image"] = "rasa/rasa-sdk:3.6.2"


BREAKS = [
    (_no_limits, "resources", "no limits"),
    (_no_liveness, "probes", "no livenessProbe"),
    (_rasa_probe_on_status, "probes", "/status"),
    (_root, "security", "runAsNonRoot"),
    (_writable_root, "security", "readOnlyRootFilesystem"),
    (_service_links, "security", "enableServiceLinks"),
    (_token_as_value, "secrets", "RASA_TOKEN does not come from a secretKeyRef"),
    (_password_in_config, "secrets", "REDIS_PASSWORD"),
    (_unknown_secret_key, "secret example", "hotline-records-db/DB_URL"),
    (_fourth_replica, "rasa urls", "RASA_URLS lists"),
    (_hpa_on_rasa, "rasa urls", "scales Rasa"),
    (_replicas_beside_autoscaler, "autoscaling", "sets replicas"),
    (_lock_store_setting_missing, "rasa environment", "REDIS_LOCK_DB"),
    (_rasa_with_development_channels, "rasa preflight", "declares rest"),
    (_sms_without_redis, "settings", "REDIS_URL"),
    (_actions_without_public_consent, "settings", "ACTIONS_ALLOW_PUBLIC=1"),
    (_ingress_without_tls, "ingress", "without TLS"),
    (_rasa_open_to_all, "network policies", "reach rasa"),
    (_other_image, "image", "rasa/rasa-sdk"),
]


@pytest.mark.parametrize(("breaking", "rule", "said"), BREAKS,
                         ids=[b[0].__name__.strip("_") for b in BREAKS])
def test_a_broken_copy_breaks_the_rule(docs: Docs, breaking, rule: str, said: str) -> None:
    broken = copy.deepcopy(docs)
    breaking(broken)
    problems = RULES[rule](broken)
    assert any(said in problem for problem in problems), problems


def test_commands_name_modules_and_files_that_exist(docs: Docs) -> None:
    assert wiring.missing_things(docs) == []


def test_a_command_naming_a_missing_module_is_caught(docs: Docs) -> None:
    broken = copy.deepcopy(docs)
    _container(broken, "Deployment", "actions")["args"][1] = "actions.server"
    _container(broken, "StatefulSet", "rasa")["args"][-1] = "credentials.prod.yml"
    missing = {name for _, name in wiring.missing_things(broken)}
    assert {"actions.server", "credentials.prod.yml"} <= missing


def test_kustomizations_apply_every_manifest_with_one_image() -> None:
    assert wiring.kustomization_problems() == []


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("folder", ["", "migrate"])
def test_kustomize_builds_with_the_release_image(folder: str) -> None:
    built = subprocess.run(["kubectl", "kustomize", str(K8S_DIR / folder)],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    images = {c["image"] for doc in yaml.safe_load_all(built) if doc and doc["kind"] in
              rules.WORKLOADS for _, c in rules.containers(doc)}
    assert images == {"registry.example.com/hotline96319:RELEASE"}
