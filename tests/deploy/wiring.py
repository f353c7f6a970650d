"""How the manifests in ``deploy/k8s`` fit together and fit the repository.

Like :mod:`tests.deploy.rules`, each function takes the parsed documents and
returns its problems in words: the sticky routing list against the Rasa
StatefulSet, the commands against the modules and files of the repository,
Rasa's endpoints file against the environment Rasa gets, the Ingress against
the URL Twilio signs, the NetworkPolicies against who must talk to whom.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.deploy.rules import (
    IMAGE_NAME,
    IMAGE_ROOT,
    K8S_DIR,
    PROJECT_ROOT,
    config_data,
    containers,
    deployed,
    find,
    manifest_files,
    name_of,
    pod_labels,
    workloads,
)



# ------------------------------------------------------------------ sticky routing

def rasa_urls_problems(docs: list[dict[str, Any]]) -> list[str]:
    """RASA_URLS lists exactly the StatefulSet's replicas, each at its stable address."""
    problems = []
    rasa = find(docs, "StatefulSet", "rasa")
    service = find(docs, "Service", rasa["spec"]["serviceName"])
    namespace = rasa["metadata"]["namespace"]
    if service["spec"].get("clusterIP") != "None":
        problems.append(f"Service/{service['metadata']['name']} is not headless (clusterIP: None)")
    if service["spec"]["selector"].items() - pod_labels(rasa).items():
        problems.append(f"Service/{service['metadata']['name']} does not select the Rasa pods")
    port = service["spec"]["ports"][0]["port"]
    container = rasa["spec"]["template"]["spec"]["containers"][0]
    args = container.get("args") or []
    if "--port" not in args or args[args.index("--port") + 1] != str(port):
        problems.append(f"rasa --port is not the headless Service's port {port}")
    expected = [f"http://{rasa['metadata']['name']}-{i}.{service['metadata']['name']}."
                f"{namespace}.svc.cluster.local:{port}" for i in range(rasa["spec"]["replicas"])]
    data = config_data(docs)
    listed = [u.strip() for u in data.get("RASA_URLS", "").split(",") if u.strip()]
    if listed != expected:
        problems.append(f"RASA_URLS lists {listed}, the StatefulSet has {expected}")
    if data.get("RASA_URL") not in expected:
        problems.append(f"RASA_URL {data.get('RASA_URL')} is not one of the replicas")
    for hpa in deployed(docs):
        if hpa["kind"] == "HorizontalPodAutoscaler" and \
                hpa["spec"]["scaleTargetRef"]["kind"] == "StatefulSet":
            problems.append(f"{name_of(hpa)} scales Rasa: RASA_URLS is a fixed list")
    return problems


def autoscaling_problems(docs: list[dict[str, Any]]) -> list[str]:
    """An autoscaled workload leaves its count to the autoscaler (an apply would reset it)."""
    problems = []
    for hpa in (d for d in deployed(docs) if d["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        try:
            workload = find(docs, target["kind"], target["name"])
        except LookupError:
            problems.append(f"{name_of(hpa)} scales {target['kind']}/{target['name']}, missing")
            continue
        if "replicas" in workload["spec"]:
            problems.append(f"{name_of(workload)} sets replicas, which {name_of(hpa)} owns")
        if hpa["spec"]["minReplicas"] < 2:
            problems.append(f"{name_of(hpa)} may leave a single pod")
    return problems


# ------------------------------------------------------------------ commands

def module_file(module: str) -> Path | None:
    """The file that ``python -m module`` (or an import of it) runs, if it exists."""
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base / "__main__.py", base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def local(path: str) -> Path:
    """A path of the image (under /app, or relative to workingDir) in this checkout."""
    relative = path[len(IMAGE_ROOT) + 1:] if path.startswith(IMAGE_ROOT + "/") else path
    return PROJECT_ROOT / relative


def named_things(command: list[str]) -> list[tuple[str, str]]:
    """(kind, name) of what a container command names: modules, files, app factories."""
    if not command or not command[0].startswith(IMAGE_ROOT + "/"):
        return []  # a shell of the image (the model copy), nothing of the repository
    gunicorn = command[0].endswith("/gunicorn")
    named = [("file", command[0])]
    for flag, value in zip(command, command[1:]):
        if flag == "-m":
            named.append(("module", value))
        elif flag in ("--endpoints", "--credentials") or (gunicorn and flag == "-c"):
            named.append(("file", value))
    if gunicorn:
        named.append(("factory", command[-1]))
    return named


def missing_things(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(container, what is missing) for every module, file or factory a command names."""
    missing = []
    for doc in workloads(docs):
        for where, container in containers(doc):
            command = (container.get("command") or []) + (container.get("args") or [])
            if container.get("workingDir", IMAGE_ROOT) != IMAGE_ROOT:
                missing.append((where, f"workingDir {container.get('workingDir')}"))
            for kind, name in named_things(command):
                if kind == "module" and module_file(name) is None:
                    missing.append((where, name))
                elif kind == "file" and not local(name).exists():
                    missing.append((where, name))
                elif kind == "factory":
                    module, _, call = name.partition(":")
                    source = module_file(module)
                    function = call.split("(")[0]
                    if source is None or not re.search(rf"^def {function}\(",
                                                       source.read_text(encoding="utf-8"), re.M):
                        missing.append((where, name))
    return missing


def image_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every container runs the one release image (named once, in release-image/)."""
    return [f"{where}: image {container['image']}, not {IMAGE_NAME}"
            for doc in workloads(docs) for where, container in containers(doc)
            if container["image"] != IMAGE_NAME]


def kustomization_problems() -> list[str]:
    """The kustomizations apply every manifest once and name the image once."""
    problems = []
    top = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = {K8S_DIR / name for name in top["resources"]}
    runs = {p for p in manifest_files() if p.parent == K8S_DIR}
    problems += [f"kustomization.yaml does not list {p.name}" for p in sorted(runs - listed)]
    problems += [f"kustomization.yaml lists {p.name}, which is missing"
                 for p in sorted(listed - runs)]
    for folder in (K8S_DIR, K8S_DIR / "migrate"):
        document = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
        if "images" in document:
            problems.append(f"{folder.name}/kustomization.yaml names an image itself")
        if not any((folder / c).resolve() == K8S_DIR / "release-image"
                   for c in document.get("components") or []):
            problems.append(f"{folder.name}/kustomization.yaml does not use release-image")
    return problems


# ------------------------------------------------------------------ Rasa's environment

def provided_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> set[str]:
    names = {env["name"] for env in container.get("env") or []}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            names |= set(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    return names


def rasa_environment_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Rasa gets every ${VAR} of its endpoints file; the action endpoint is the actions Service."""
    problems = []
    container = find(docs, "StatefulSet", "rasa")["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    endpoints = local(args[args.index("--endpoints") + 1])
    wanted = set(re.findall(r"\$\{(\w+)\}", endpoints.read_text(encoding="utf-8")))
    problems += [f"Rasa needs {name} ({endpoints.name}) but is not given it"
                 for name in sorted(wanted - provided_env(docs, container))]
    url = urlsplit(config_data(docs).get("ACTION_ENDPOINT_URL", ""))
    actions = find(docs, "Service", "actions")
    host = f"actions.{actions['metadata']['namespace']}.svc.cluster.local"
    if url.hostname != host or url.port != actions["spec"]["ports"][0]["port"]:
        problems.append(f"ACTION_ENDPOINT_URL does not reach Service/actions ({host})")
    return problems


def rasa_preflight_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Rasa's command and environment pass its own production start-up checks.

    bot/channels/preflight.py is run on the container's arguments, with a strong
    random value for every secret the pod is given and the ConfigMap's values.
    """
    import secrets

    from bot.channels.preflight import read_credentials, unsafe_start_problems

    container = find(docs, "StatefulSet", "rasa")["spec"]["template"]["spec"]["containers"][0]
    environ = dict(config_data(docs))
    environ.update({env["name"]: env.get("value") or secrets.token_urlsafe(48)
                    for env in container.get("env") or []})
    argv = [re.sub(r"\$\((\w+)\)", lambda m: environ.get(m.group(1), ""), arg)
            for arg in container["command"] + container["args"]]
    problems = unsafe_start_problems(environ, argv, read=lambda path: read_credentials(local(path)))
    if environ.get("HOTLINE_ENV") != "production":
        problems.append("HOTLINE_ENV is not production")
    return problems


def pod_settings_environment(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The environment a container gets, secrets taken from the example Secrets.

    The example's placeholders keep their shape (``rediss://…``); the keys of
    ``hotline-keys`` become strong random values, as the real ones must be.
    """
    import secrets

    example = {(d["metadata"]["name"], key): value for d in docs
               if d["kind"] == "Secret" and "/examples/" in d["__file__"]
               for key, value in (d.get("stringData") or {}).items()}
    environ: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            environ.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if ref is None:
            environ[env["name"]] = env.get("value", "")
        elif ref["name"] == "hotline-keys":
            environ[env["name"]] = secrets.token_urlsafe(48)
        else:
            environ[env["name"]] = example.get((ref["name"], ref["key"]), "")
    return environ


def settings_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every process of the application environment starts with what its pod gets.

    ``bot.settings.load_settings`` (production refuses to start without its
    secrets) on each container's environment, and the action server's own
    refusal to listen beyond loopback (``actions/serve.py``).
    """
    from actions.serve import chosen_interface, refusal
    from bot.settings import SettingsError, load_settings

    problems = []
    for doc in workloads(docs):
        for where, container in containers(doc, init=False):
            if not container["command"][0].startswith(f"{IMAGE_ROOT}/.venv/app/"):
                continue
            environ = pod_settings_environment(docs, container)
            try:
                load_settings(environ)
            except SettingsError as exc:
                problems.append(f"{where}: {exc}")
            args = container.get("args") or []
            if "actions.serve" in args:
                interface = args[args.index("--interface") + 1] if "--interface" in args else None
                why = refusal(chosen_interface(interface, environ), environ)
                if why:
                    problems.append(f"{where}: {why}")
    return problems


# ------------------------------------------------------------------ outside and inside

def ingress_problems(docs: list[dict[str, Any]]) -> list[str]:
    """TLS for the host Twilio signs (PUBLIC_BASE_URL), to the gateway and nothing else."""
    problems = []
    base = urlsplit(config_data(docs).get("PUBLIC_BASE_URL", ""))
    ingresses = [d for d in deployed(docs) if d["kind"] == "Ingress"]
    for ingress in ingresses:
        hosts = {rule.get("host") for rule in ingress["spec"]["rules"]}
        tls_hosts = {h for tls in ingress["spec"].get("tls") or [] for h in tls["hosts"]}
        if hosts - tls_hosts:
            problems.append(f"{name_of(ingress)}: {sorted(hosts - tls_hosts)} without TLS")
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                if path["backend"]["service"]["name"] != "gateway":
                    problems.append(f"{name_of(ingress)} exposes {path['backend']['service']}")
        if base.scheme != "https" or base.hostname not in hosts:
            problems.append(f"PUBLIC_BASE_URL {base.geturl()} is not https on {sorted(hosts)}")
    if len(ingresses) != 1:
        problems.append(f"{len(ingresses)} Ingresses: the gateway is the one way in")
    return problems


# The metrics scraper (Prometheus) and the parts it scrapes besides the gateway.
SCRAPER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
SCRAPED = frozenset({"actions"})


def _component(selector: dict[str, Any]) -> str | None:
    return (selector.get("matchLabels") or {}).get("app.kubernetes.io/component")


def network_policy_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Ingress denied by default; Rasa only from the gateway, actions only from Rasa.

    The metrics scraper's namespace may reach the action server (GET /metrics,
    behind METRICS_TOKEN); nothing else from outside reaches Rasa or the actions.
    """
    problems = []
    policies = [d for d in deployed(docs) if d["kind"] == "NetworkPolicy"]
    if not any(p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]
               and "Ingress" in p["spec"]["policyTypes"] for p in policies):
        problems.append("no default-deny ingress NetworkPolicy")
    allowed = {"rasa": {"gateway"}, "actions": {"rasa"}}
    for target, sources in allowed.items():
        selecting = [p for p in policies if _component(p["spec"]["podSelector"]) == target]
        if not selecting:
            problems.append(f"no NetworkPolicy for {target}")
        for policy in selecting:
            for rule in policy["spec"].get("ingress") or []:
                for peer in rule.get("from") or [{}]:
                    if peer == SCRAPER and target in SCRAPED:
                        continue
                    if set(peer) != {"podSelector"} or _component(peer["podSelector"]) not in sources:
                        problems.append(f"{name_of(policy)} lets {peer or 'anyone'} reach {target}")
    for policy in policies:
        target = _component(policy["spec"]["podSelector"])
        if target not in (None, "gateway", *allowed):
            problems.append(f"{name_of(policy)} opens {target}, which takes no traffic")
    return problems
