#!/usr/bin/env bash
# Creates or updates the two Python 3.10 environments from pyproject.toml:
#   .venv/rasa  Rasa Open Source 3.6 (+ jieba, cn2an)      <- .[rasa]
#   .venv/app   action server, records, tools and tests     <- .[app,test]
# An environment is rebuilt only when pyproject.toml changed since it was built.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\n!! setup failed at step: %s\n   %s\n' "$1" "$2" >&2; exit 1; }

find_python() {
  local candidates=()
  [ -n "${HOTLINE_PYTHON:-}" ] && candidates+=("$HOTLINE_PYTHON")
  command -v pyenv >/dev/null 2>&1 && candidates+=("$(pyenv root)/versions/$(cat .python-version)/bin/python")
  candidates+=("$HOME/.pyenv/versions/$(cat .python-version)/bin/python" python3.10 python3)
  for py in "${candidates[@]}"; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  return 1
}

PYTHON=$(find_python) || fail "find Python 3.10" "Rasa 3.6 needs Python 3.10 (see .python-version); install it with pyenv or set HOTLINE_PYTHON."
# The pins of one extra (the lines of its list in pyproject.toml).
extra_pins() {
  sed -n "/^$1 = \[/,/^\]/p" pyproject.toml
}

build_env() {  # name extras
  local name=$1 extras=$2 dir=.venv/$1 stamp
  stamp=$(for extra in ${extras//,/ }; do extra_pins "$extra"; done | sha256sum | cut -c1-16)
  if [ -f "$dir/.built-$stamp" ] && [ -x "$dir/bin/python" ]; then
    echo "    $dir is up to date"; return 0
  fi
  if [ -x "$dir/bin/python" ]; then
    step "Updating the $name environment ($dir): its pins in pyproject.toml changed"
  else
    step "Building the $name environment ($dir, extras: $extras) — a few minutes the first time"
    "$PYTHON" -m venv "$dir" || fail "create $dir" "python -m venv failed"
  fi
  local log=var/pip-$name.log
  "$dir/bin/python" -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel > "$log" 2>&1 \
    || fail "upgrade pip in $dir" "see $log"
  set +e
  "$dir/bin/python" -m pip install -e ".[$extras]" 2>&1 | tee "$log" \
    | grep -E --line-buffered "^(Collecting|Successfully|ERROR)" | sed -u 's/^/    /'
  local status=${PIPESTATUS[0]}
  set -e
  [ "$status" -eq 0 ] || fail "install $name environment" "pip exited with $status; see $log"
  "$dir/bin/python" -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" \
    $( [ "$name" = rasa ] && echo "rasa jieba cn2an" || echo "rasa_sdk flask sqlalchemy alembic twilio pytest" ) \
    || fail "install $name environment" "a package did not install; run: $dir/bin/pip install -e '.[$extras]'"
  rm -f "$dir"/.built-*
  touch "$dir/.built-$stamp"
}

step "Python: $PYTHON"
mkdir -p .venv var
build_env rasa rasa
build_env app app,test
echo "    environments ready"
