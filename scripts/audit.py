"""Known vulnerabilities in the locked packages: pip-audit over each lock file.

Run by ``make audit`` and the test suite (scripts/test.sh) with the tools
environment's Python (``.venv/tools``, never the application's)::

    .venv/tools/bin/python scripts/audit.py [LOCK ...]

Each lock (default: requirements/rasa.lock and requirements/app.lock) is read
as it is — exact versions, hashes, no resolution — and every package is looked
up in the vulnerability service. A vulnerability fails the audit unless
requirements/audit-accepted.toml accepts that ID for that package in that
environment, with the reasons a reviewer signed off on (see that file).

Exit status: 0 nothing new; 1 a vulnerability not accepted (or a malformed
accepted file); 2 some packages could not be checked and ``AUDIT_REQUIRED=1``.

Settings (environment):
  AUDIT_SERVICE   pypi (default) or osv: pip-audit's vulnerability service
  AUDIT_OSV_URL   an OSV-compatible query URL (e.g. an internal mirror of
                  osv.dev); implies the osv service
  AUDIT_REQUIRED  1: packages the service could not answer for fail the audit
                  (exit 2); otherwise they are listed as NOT AUDITED
  AUDIT_ACCEPTED  the accepted-vulnerabilities file (default above)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tomli

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCKS = ("requirements/rasa.lock", "requirements/app.lock")
DEFAULT_ACCEPTED = "requirements/audit-accepted.toml"
REQUIRED_FIELDS = ("id", "package", "envs", "why_not_fixed", "why_acceptable", "reviewed")


@dataclass(frozen=True)
class Finding:
    env: str
    package: str
    version: str
    ids: tuple[str, ...]  # the service's ID first, then its aliases
    fixed_in: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Acceptance:
    id: str
    package: str
    envs: tuple[str, ...]

    def covers(self, finding: Finding) -> bool:
        return (self.id in finding.ids and self.package == finding.package
                and finding.env in self.envs)


class AuditError(Exception):
    """The accepted file is malformed, or the audit itself could not run."""


def load_accepted(path: Path) -> list[Acceptance]:
    """The reviewed acceptances; every field is required and non-empty."""
    if not path.exists():
        return []
    try:
        data = tomli.loads(path.read_text(encoding="utf-8"))
    except tomli.TOMLDecodeError as exc:
        raise AuditError(f"{path}: {exc}") from exc
    accepted = []
    for number, entry in enumerate(data.get("accepted", []), start=1):
        missing = [name for name in REQUIRED_FIELDS if not entry.get(name)]
        if missing:
            raise AuditError(f"{path}: entry {number} ({entry.get('id', '?')}) lacks "
                             + ", ".join(missing))
        accepted.append(Acceptance(entry["id"], _canonical(entry["package"]),
                                   tuple(entry["envs"])))
    return accepted


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def service_args(environ: dict[str, str]) -> list[str]:
    osv_url = environ.get("AUDIT_OSV_URL", "").strip()
    if osv_url:
        return ["--vulnerability-service", "osv", "--osv-url", osv_url]
    return ["--vulnerability-service", environ.get("AUDIT_SERVICE", "pypi").strip() or "pypi"]


def audit_lock(lock: Path, environ: dict[str, str]) -> tuple[list[Finding], list[str]]:
    """Findings for one lock file, and the packages that could not be checked."""
    env = lock.name.removesuffix(".lock")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        run = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--requirement", str(lock),
             "--require-hashes", "--disable-pip", "--no-deps", "--progress-spinner", "off",
             "--format", "json", "--aliases", "on", "--desc", "off", "--timeout", "15",
             "--output", str(report), *service_args(environ)],
            capture_output=True, text=True, check=False)
        if run.returncode not in (0, 1) or not report.exists():
            last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
            return [], [f"{env}: every package (pip-audit failed: {last[:200]})"]
        result = json.loads(report.read_text(encoding="utf-8"))
    findings, unchecked = [], []
    for dependency in result.get("dependencies", []):
        name = _canonical(dependency["name"])
        if "skip_reason" in dependency:
            unchecked.append(f"{env}: {name} ({dependency['skip_reason']})")
            continue
        for vuln in dependency.get("vulns", []):
            findings.append(Finding(
                env, name, dependency.get("version", "?"),
                (vuln["id"], *vuln.get("aliases", [])),
                tuple(vuln.get("fix_versions", [])), vuln.get("description") or ""))
    return findings, unchecked


def main(argv: list[str], environ: dict[str, str]) -> int:
    locks = [ROOT / lock for lock in (argv or DEFAULT_LOCKS)]
    try:
        accepted = load_accepted(ROOT / environ.get("AUDIT_ACCEPTED", DEFAULT_ACCEPTED))
    except AuditError as exc:
        print(f"!! audit: {exc}")
        return 1
    service = " ".join(service_args(environ)[1::2])
    print(f"==> pip-audit ({service}) over {', '.join(lock.name for lock in locks)}")
    findings, unchecked = [], []
    for lock in locks:
        found, skipped = audit_lock(lock, environ)
        findings += found
        unchecked += skipped
    new = [f for f in findings if not any(a.covers(f) for a in accepted)]
    for finding in findings:
        status = "NEW" if finding in new else "accepted"
        fixed = ", ".join(finding.fixed_in) or "no fix"
        print(f"    {status:8} {finding.env:5} {finding.package}=={finding.version} "
              f"{' / '.join(finding.ids)} (fixed in: {fixed})")
    seen = {(f.env, f.package, i) for f in findings for i in f.ids}
    for acceptance in accepted:
        if not unchecked and not any((env, acceptance.package, acceptance.id) in seen
                                for env in acceptance.envs):
            print(f"    note: {acceptance.id} ({acceptance.package}) is accepted but no "
                  "longer found: remove it from the accepted file")
    if unchecked:
        print(f"!! NOT AUDITED: the vulnerability service did not answer for {len(unchecked)}:")
        for line in unchecked[:10]:
            print(f"    {line}")
        if len(unchecked) > 10:
            print(f"    ... and {len(unchecked) - 10} more")
    print(f"    {len(findings)} known vulnerabilities, {len(findings) - len(new)} accepted, "
          f"{len(new)} new; not checked: {len(unchecked)}")
    if new:
        print("!! audit failed: upgrade the package (make lock-upgrade), or have the "
              "vulnerability reviewed into requirements/audit-accepted.toml")
        return 1
    if unchecked and environ.get("AUDIT_REQUIRED") == "1":
        print("!! audit failed: AUDIT_REQUIRED=1 and some packages could not be checked")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))
