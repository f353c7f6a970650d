"""Waits until Rasa, the action server and the gateway answer, then says where to talk to them.

Runs as the ``ready`` process of the Procfile (and of ``Procfile.production``,
where every Rasa replica of ``RASA_URLS`` is waited for); it keeps running afterwards
because honcho stops all processes when one exits.
"""
from __future__ import annotations

import sys
import time

import requests

from bot.settings import load_settings


def parts_healthy(settings, timeout: float = 2.0) -> dict[str, bool]:
    """Health of each part: every Rasa replica with a loaded model, the action server,
    and the gateway's full report (``/healthz``)."""
    checks = {}
    replicas = settings.replica_urls
    for number, url in enumerate(replicas, start=1):
        name = "rasa" if len(replicas) == 1 else f"rasa{number}"
        try:
            status = requests.get(f"{url}/status", params={"token": settings.rasa_token},
                                  timeout=timeout)
            checks[name] = status.ok and bool(status.json().get("model_id"))
        except (requests.RequestException, ValueError):
            checks[name] = False
    try:
        health = requests.get(
            f"http://127.0.0.1:{settings.action_server_port}/health", timeout=timeout
        )
        checks["actions"] = health.ok
    except requests.RequestException:
        checks["actions"] = False
    try:
        checks["gateway"] = requests.get(f"{gateway_url()}/healthz", timeout=timeout).ok
    except requests.RequestException:
        checks["gateway"] = False
    return checks


def gateway_url() -> str:
    import os

    return f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT') or 8000}"


def wait_until_healthy(settings, deadline_s: float = 300.0) -> float:
    """Block until every part is healthy; return the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if all(parts_healthy(settings).values()):
            return time.monotonic() - start
        time.sleep(0.5)
    raise TimeoutError(f"parts not healthy after {deadline_s:.0f} s: {parts_healthy(settings)}")


def main() -> int:
    settings = load_settings()
    try:
        took = wait_until_healthy(settings)
    except TimeoutError as exc:
        print(f"!! {exc}", flush=True)
        return 1
    print(
        f"\n==> 96319 assistant ready after {took:.0f} s.\n"
        f"    Web chat (demo site):  {gateway_url()}/\n"
        f"    Staff desk:            {gateway_url()}/desk/  (first supervisor: README, 'The complaint desk')\n"
        "    Call it (simulator):   .venv/app/bin/python -m bot.gateway.voice.simulator\n"
        "    Terminal chat:         make chat\n"
        "    Demo identities and passwords: README, section 'Demo identities'.\n"
        "    Stop with Ctrl-C.\n",
        flush=True,
    )
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
