"""The lock files (scripts/lock.sh) match pyproject.toml, and setup installs only from them."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENVS = {"rasa": ("rasa",), "app": ("app", "test"), "tools": ()}


def _bash(script: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f". scripts/envs.sh && {script}"], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def _locked(env: str) -> dict[str, str]:
    text = (ROOT / "requirements" / f"{env}.lock").read_text()
    return {name.lower(): version
            for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\$", text, re.M)}


def _pins(extra: str) -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(rf"^{extra} = \[(.*?)^\]", text, re.M | re.S).group(1)
    return {re.sub(r"\[.*\]", "", name).lower().replace("_", "-"): version
            for name, version in re.findall(r'^\s*"([^"=]+)==([^"]+)"', block, re.M)}


@pytest.mark.parametrize("env", sorted(ENVS))
def test_each_lock_was_made_from_the_current_pins(env: str) -> None:
    run = _bash(f'echo "$(lock_recorded_digest {env}) $(lock_inputs_digest {env})"')
    recorded, current = run.stdout.split()
    assert recorded == current, f"requirements/{env}.lock is stale: run make lock"


@pytest.mark.parametrize("env", ["rasa", "app"])
def test_every_pin_is_in_its_lock_at_that_version(env: str) -> None:
    locked = _locked(env)
    for extra in ENVS[env]:
        for name, version in _pins(extra).items():
            assert locked.get(name) == version, f"{name}=={version} ({extra}) in {env}.lock"


@pytest.mark.parametrize("env", sorted(ENVS))
def test_every_locked_package_has_hashes(env: str) -> None:
    text = (ROOT / "requirements" / f"{env}.lock").read_text()
    blocks = re.split(r"^(?=[A-Za-z0-9])", text, flags=re.M)[1:]
    assert blocks
    for block in blocks:
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), block.splitlines()[0]


def test_the_packages_named_in_the_issue_are_the_patched_releases() -> None:
    app = _locked("app")
    assert (app["flask"], app["requests"], app["gunicorn"], app["twilio"]) == \
        ("3.1.3", "2.34.2", "27.0.1", "9.13.0")
    assert "tzdata" in app and "tzdata" in _locked("rasa")


def test_setup_refuses_a_lock_older_than_its_pins(tmp_path: Path) -> None:
    for part in ("pyproject.toml", ".python-version"):
        shutil.copy(ROOT / part, tmp_path / part)
    for part in ("scripts", "requirements"):
        shutil.copytree(ROOT / part, tmp_path / part)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"honcho==2.0.0"', '"honcho==1.1.0"'))
    run = subprocess.run(["bash", "scripts/setup.sh", "app"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 1
    assert "run make lock" in run.stderr
    assert not (tmp_path / ".venv" / "app").exists()


def test_shanghai_time_resolves_from_the_declared_tzdata_package() -> None:
    """zoneinfo falls back to the tzdata package where the system has no database."""
    import importlib.util
    import zoneinfo

    assert importlib.util.find_spec("tzdata") is not None
    zoneinfo.reset_tzpath(to=[])  # as on a slim image without /usr/share/zoneinfo
    try:
        zoneinfo.ZoneInfo.clear_cache()
        assert zoneinfo.ZoneInfo("Asia/Shanghai").key == "Asia/Shanghai"
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
