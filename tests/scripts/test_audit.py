"""scripts/audit.py: the real pip-audit (tools environment) against a local OSV-API server.

The server on 127.0.0.1 answers like osv.dev's /v1/query: one made-up
vulnerability for requests 2.34.2, nothing for anything else.
"""
from __future__ import annotations

import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_PYTHON = ROOT / ".venv" / "tools" / "bin" / "python"
VULN = {
    "id": "TEST-2026-0001",
    "aliases": ["CVE-2026-99999"],
    "summary": "made up for this test",
    "affected": [{"package": {"name": "requests", "ecosystem": "PyPI"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "2.99.0"}]}]}],
}


class OsvHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        hit = query["package"] == {"name": "requests", "ecosystem": "PyPI"} \
            and query["version"] == "2.34.2"
        body = json.dumps({"vulns": [VULN]} if hit else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def osv_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OsvHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/query"
    server.shutdown()


def _locked_block(lock: Path, package: str) -> str:
    """One package's lines (version and hashes) from a lock file."""
    match = re.search(rf"^{package}==.*?(?=^\S)", lock.read_text(), re.M | re.S)
    assert match, f"{package} not in {lock}"
    return match.group(0)


@pytest.fixture
def app_lock(tmp_path: Path) -> Path:
    """A small lock for the app environment: requests (flagged) and idna (clean)."""
    real = ROOT / "requirements" / "app.lock"
    lock = tmp_path / "app.lock"
    lock.write_text(_locked_block(real, "idna") + _locked_block(real, "requests"))
    return lock


def audit(lock: Path, accepted: str | None, **env: str) -> subprocess.CompletedProcess:
    if not TOOLS_PYTHON.exists():
        pytest.fail(f"{TOOLS_PYTHON} is missing: run make setup", pytrace=False)
    accepted_file = lock.parent / "accepted.toml"
    accepted_file.write_text(accepted or "")
    return subprocess.run(
        [str(TOOLS_PYTHON), str(ROOT / "scripts" / "audit.py"), str(lock)],
        env={"PATH": "/usr/bin:/bin", "AUDIT_ACCEPTED": str(accepted_file), **env},
        capture_output=True, text=True, timeout=120, check=False)


def _accept(package: str = "requests", envs: str = '["app"]', vuln_id: str = "TEST-2026-0001",
            **fields: str) -> str:
    entry = {"id": vuln_id, "package": package, "why_not_fixed": "pinned upstream",
             "why_acceptable": "the affected function is never called", "reviewed": "2026-12-07",
             **fields}
    lines = "\n".join(f'{key} = "{value}"' for key, value in entry.items())
    return f"[[accepted]]\n{lines}\nenvs = {envs}\n"


def test_a_new_vulnerability_fails_the_audit_and_is_named(app_lock, osv_url):
    run = audit(app_lock, None, AUDIT_OSV_URL=osv_url)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "NEW" in run.stdout and "requests==2.34.2" in run.stdout
    assert "TEST-2026-0001" in run.stdout and "2.99.0" in run.stdout
    assert "NOT AUDITED" not in run.stdout


@pytest.mark.parametrize("vuln_id", ["TEST-2026-0001", "CVE-2026-99999"])
def test_a_reviewed_acceptance_lets_it_pass(app_lock, osv_url, vuln_id):
    run = audit(app_lock, _accept(vuln_id=vuln_id), AUDIT_OSV_URL=osv_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "accepted" in run.stdout and "0 new" in run.stdout


@pytest.mark.parametrize(("package", "envs"), [("urllib3", '["app"]'), ("requests", '["rasa"]')])
def test_an_acceptance_covers_only_its_package_and_environment(app_lock, osv_url, package, envs):
    run = audit(app_lock, _accept(package=package, envs=envs), AUDIT_OSV_URL=osv_url)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "NEW" in run.stdout


@pytest.mark.parametrize("blank", ["why_not_fixed", "why_acceptable", "reviewed"])
def test_an_acceptance_without_its_reasons_is_refused(app_lock, osv_url, blank):
    run = audit(app_lock, _accept(**{blank: ""}), AUDIT_OSV_URL=osv_url)
    assert run.returncode == 1
    assert f"lacks {blank}" in run.stdout


def test_an_unreachable_service_is_reported_and_fails_when_required(app_lock):
    closed = "http://127.0.0.1:9/v1/query"  # discard port: nothing listens
    run = audit(app_lock, None, AUDIT_OSV_URL=closed)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "NOT AUDITED" in run.stdout
    required = audit(app_lock, None, AUDIT_OSV_URL=closed, AUDIT_REQUIRED="1")
    assert required.returncode == 2
    assert "NOT AUDITED" in required.stdout


def test_the_accepted_file_is_complete_and_names_locked_packages():
    import tomli

    accepted = tomli.loads((ROOT / "requirements" / "audit-accepted.toml").read_text())["accepted"]
    assert accepted
    for entry in accepted:
        for field in ("id", "package", "envs", "why_not_fixed", "why_acceptable", "reviewed"):
            assert entry.get(field), f"{entry.get('id')}: {field}"
        for env in entry["envs"]:
            assert env in ("rasa", "app"), entry["id"]
            lock = (ROOT / "requirements" / f"{env}.lock").read_text()
            assert re.search(rf"^{entry['package']}==", lock, re.M), \
                f"{entry['id']}: {entry['package']} is not in {env}.lock"
