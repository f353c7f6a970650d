#!/usr/bin/env bash
# `make lock`: compiles requirements/{rasa,app,tools}.lock from pyproject.toml
# (and requirements/*.in) with uv — every package of each environment, exact
# version and sha256 hashes of its files on PyPI. Versions already in a lock are
# kept unless its inputs force a change; `make lock-upgrade` (--upgrade) takes
# the newest versions the pins allow. Commit the locks with the pins.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/envs.sh

upgrade=()
[ "${1:-}" = "--upgrade" ] && upgrade=(--upgrade)

PYTHON=$(find_python) || { echo "!! Python 3.10 not found (see .python-version)" >&2; exit 1; }
UV=.venv/tools/bin/uv
[ -x "$UV" ] || bash scripts/setup.sh tools

for name in $ENVS; do
  lock=$(env_lock "$name")
  extras=$(env_extras "$name")
  if [ -n "$extras" ]; then
    inputs=(pyproject.toml requirements/build.in)
    for extra in ${extras//,/ }; do inputs+=(--extra "$extra"); done
  else
    inputs=("requirements/$name.in" requirements/build.in)
  fi
  echo "==> $lock"
  digest=$(lock_inputs_digest "$name")
  # Linux x86-64, CPython 3.10: where the project runs, whoever runs `make lock`.
  "$UV" pip compile --quiet "${inputs[@]}" "${upgrade[@]}" \
    --python "$PYTHON" --python-version 3.10 --python-platform x86_64-manylinux_2_28 \
    --index-url https://pypi.org/simple --generate-hashes \
    --custom-compile-command "make lock" --output-file "$lock"
  # The digest of the inputs, read by scripts/setup.sh to refuse a stale lock.
  sed -i "/^#    make lock$/a # inputs-digest: $digest" "$lock"
  echo "    $(grep -c '^[A-Za-z0-9]' "$lock") packages"
done
