# Sourced by scripts/setup.sh and scripts/lock.sh (and tests/scripts): the three
# Python 3.10 environments and where their exact versions come from.
#   .venv/rasa   <- requirements/rasa.lock   (pyproject.toml extra rasa)
#   .venv/app    <- requirements/app.lock    (extras app, test)
#   .venv/tools  <- requirements/tools.lock  (requirements/tools.in: uv, pip-audit)
# Each lock also holds requirements/build.in (pip, setuptools, wheel) and carries
# the digest of its inputs, so a pin changed without `make lock` is caught.

ENVS="tools rasa app"  # tools first: `make lock` needs it when a lock is stale

env_extras() {  # name -> extras of pyproject.toml ("" for tools)
  case $1 in rasa) echo rasa ;; app) echo app,test ;; *) echo "" ;; esac
}

env_lock() { echo "requirements/$1.lock"; }

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

# The pins of one extra (the lines of its list in pyproject.toml).
extra_pins() {
  sed -n "/^$1 = \[/,/^\]/p" pyproject.toml
}

# Digest of what a lock is compiled from: the extras' pins (or tools.in) and build.in.
lock_inputs_digest() {
  local extras
  extras=$(env_extras "$1")
  {
    if [ -n "$extras" ]; then
      for extra in ${extras//,/ }; do extra_pins "$extra"; done
    else
      cat "requirements/$1.in"
    fi
    cat requirements/build.in
  } | sha256sum | cut -c1-16
}

# The digest a lock file was made from (its "# inputs-digest:" line).
lock_recorded_digest() {
  sed -n 's/^# inputs-digest: //p' "$(env_lock "$1")" 2>/dev/null | head -1
}
