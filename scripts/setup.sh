#!/usr/bin/env bash
# Creates or updates the three Python 3.10 environments from the lock files
# (scripts/envs.sh says which): exact versions, every file checked against its
# sha256 (pip --require-hashes), then the project itself without dependencies.
#   .venv/rasa   Rasa Open Source 3.6 (+ jieba, cn2an)      <- requirements/rasa.lock
#   .venv/app    action server, records, tools and tests     <- requirements/app.lock
#   .venv/tools  uv (make lock) and pip-audit (scripts/audit.py) <- requirements/tools.lock
# An environment is rebuilt only when its lock file changed since it was built.
# Arguments name the environments to build (default: all three).
# A lock older than the pins in pyproject.toml is refused: run `make lock`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/envs.sh

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\n!! setup failed at step: %s\n   %s\n' "$1" "$2" >&2; exit 1; }

PYTHON=$(find_python) || fail "find Python 3.10" "Rasa 3.6 needs Python 3.10 (see .python-version); install it with pyenv or set HOTLINE_PYTHON."

build_env() {  # name
  local name=$1 dir=.venv/$1 lock stamp
  lock=$(env_lock "$name")
  [ -f "$lock" ] || fail "read $lock" "the lock file is missing: run make lock"
  [ "$(lock_recorded_digest "$name")" = "$(lock_inputs_digest "$name")" ] \
    || fail "check $lock" "pyproject.toml (or requirements/*.in) changed since $lock was made: run make lock and commit the lock"
  stamp=$(sha256sum "$lock" | cut -c1-16)
  if [ -f "$dir/.built-$stamp" ] && [ -x "$dir/bin/python" ]; then
    echo "    $dir is up to date"; return 0
  fi
  if [ -x "$dir/bin/python" ]; then
    step "Updating the $name environment ($dir): $lock changed"
  else
    step "Building the $name environment ($dir from $lock) — a few minutes the first time"
    "$PYTHON" -m venv "$dir" || fail "create $dir" "python -m venv failed"
  fi
  local log=var/pip-$name.log installers=var/installers-$name.lock
  # First the locked pip, setuptools and wheel (their blocks of the lock) ...
  awk '/^[A-Za-z0-9]/ { keep = ($0 ~ /^(pip|setuptools|wheel)==/) } keep' "$lock" > "$installers"
  "$dir/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$installers" > "$log" 2>&1 \
    || fail "install pip, setuptools and wheel into $dir" "see $log"
  rm -f "$installers"
  # ... then the whole lock: --no-deps, the lock is the whole environment (a
  # missing package fails the import check below rather than being fetched
  # unhashed); --no-build-isolation, sdists build with the setuptools just
  # installed instead of one downloaded without a hash.
  set +e
  "$dir/bin/python" -m pip install --require-hashes --no-deps --no-build-isolation -r "$lock" 2>&1 \
    | tee -a "$log" | grep -E --line-buffered "^(Collecting|Successfully|ERROR)" | sed -u 's/^/    /'
  local status=${PIPESTATUS[0]}
  set -e
  [ "$status" -eq 0 ] || fail "install $name environment" "pip exited with $status; see $log"
  if [ "$name" != tools ]; then
    # The project itself (editable), built with the locked setuptools.
    "$dir/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e . >> "$log" 2>&1 \
      || fail "install the project into $dir" "see $log"
  fi
  "$dir/bin/python" -m pip check >> "$log" 2>&1 \
    || fail "check $name environment" "conflicting requirements; see the end of $log"
  local modules
  case $name in
    rasa) modules="rasa jieba cn2an zoneinfo tzdata" ;;
    app) modules="rasa_sdk flask sqlalchemy alembic twilio pytest pyotp tzdata" ;;
    tools) modules="pip_audit" ;;
  esac
  "$dir/bin/python" -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" $modules \
    || fail "install $name environment" "a package did not install; see $log"
  rm -f "$dir"/.built-*
  touch "$dir/.built-$stamp"
}

step "Python: $PYTHON"
mkdir -p .venv var
for name in ${*:-$ENVS}; do
  case " $ENVS " in *" $name "*) build_env "$name" ;; *) fail "read arguments" "no environment $name (one of: $ENVS)" ;; esac
done
echo "    environments ready"
