#!/usr/bin/env bash
# The whole test suite: training-data validation, the Python tests (SQLite and
# PostgreSQL), held-out NLU accuracy, the conversation test stories and the
# known-vulnerability audit of the locked dependencies.
# Exits non-zero on the first failing part and says which.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
model=$(ls -t var/models/hotline-*.tar.gz 2>/dev/null | head -1)
[ -n "$model" ] || { echo "!! no trained model in var/models (run make train)" >&2; exit 1; }
results=var/results
rm -rf "$results" && mkdir -p "$results"
failed=()

part() { printf '\n==> %s\n' "$*"; }

part "1/4 rasa data validate"
.venv/rasa/bin/rasa data validate --domain domain --data data --config config.yml \
  > "$results/validate.log" 2>&1
validate_status=$?
.venv/app/bin/python scripts/check_validate.py "$results/validate.log" "$validate_status" \
  || failed+=("rasa data validate")

part "2/4 Python tests (pytest)"
.venv/app/bin/python -m pytest tests -q -p no:cacheprovider || failed+=("pytest")

part "3/4 NLU on held-out sets, with the fallback in place (tests/nlu)"
# heldout.yml was written by someone who never read data/ (it predicts how the
# assistant does on phrasing nobody on the team wrote); team_set.yml is the
# team's own regression set, fresh.yml a second independent set, kb_heldout.yml
# the independent set of the 61 policy topics. The floors are what the current
# model reaches, rounded down (README, "Understanding Chinese"): a change that
# loses understanding fails here.
.venv/rasa/bin/python scripts/eval_nlu.py --model "$model" tests/nlu/heldout.yml tests/nlu/team_set.yml tests/nlu/fresh.yml \
  --json "$results/nlu/predictions.json" \
  --min-accuracy 0.93 --min-faq-accuracy 0.91 \
  --min-complaint-recall 0.94 --min-oos-rejection 0.84 --min-asr-accuracy 0.93 \
  2> "$results/nlu.log" || { tail -5 "$results/nlu.log"; failed+=("NLU accuracy"); }
.venv/rasa/bin/python scripts/eval_nlu.py --model "$model" tests/nlu/kb_heldout.yml \
  --json "$results/nlu/kb_predictions.json" \
  --min-accuracy 0.90 --min-faq-accuracy 0.90 --min-asr-accuracy 0.88 \
  2> "$results/nlu_kb.log" || { tail -5 "$results/nlu_kb.log"; failed+=("NLU accuracy (policy topics)"); }

part "4/4 Conversation test stories, end to end (tests/stories)"
# --e2e: the user text of every story goes through the trained NLU, and a wrong
# intent or entity fails the story like a wrong action (only files named test_*
# are read). The gateway's /intent{...} messages are read from their text.
.venv/rasa/bin/rasa test core --stories tests/stories --model "$model" --e2e \
  --endpoints endpoints.yml --out "$results/core" --fail-on-prediction-errors \
  > "$results/core.log" 2>&1
core_status=$?
.venv/app/bin/python scripts/check_core.py "$results/core" "$core_status" "$results/core.log" \
  || failed+=("test stories")

part "Known vulnerabilities in the locked packages (pip-audit, scripts/audit.py)"
# Fails on an advisory not reviewed into requirements/audit-accepted.toml; says
# NOT AUDITED for packages the vulnerability service could not answer for
# (AUDIT_REQUIRED=1 makes that fail too; AUDIT_OSV_URL points at an OSV mirror).
.venv/tools/bin/python scripts/audit.py || failed+=("dependency audit")

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "!! FAILED: ${failed[*]} (details under $results/)"
  exit 1
fi
echo "==> All checks passed"
