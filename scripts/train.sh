#!/usr/bin/env bash
# Trains the Rasa model only when its inputs changed (config, domain, training
# data, the NLU components and their dictionary). The model goes to var/models/.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
inputs=$(find config.yml domain data bot/nlu -type f \( -name '*.yml' -o -name '*.py' -o -name '*.txt' \) | sort)
fingerprint=$(cat $inputs | sha256sum | cut -c1-16)
model=var/models/hotline-$fingerprint.tar.gz
if [ -f "$model" ] && [ "${1:-}" != "--force" ]; then
  echo "==> Model is up to date ($model)"
  exit 0
fi
echo "==> Training the model (training data changed) — a few minutes on 2 cores"
mkdir -p var/models
start=$(date +%s)
set +e
.venv/rasa/bin/rasa train --domain domain --data data --config config.yml \
    --augmentation 0 --out var/models --fixed-model-name "hotline-$fingerprint" 2>&1 \
  | tee var/models/train.log \
  | grep --line-buffered -E "Finished training component|Restored component|Your Rasa model is trained" \
  | sed -u -E "s/^.*(Finished|Restored|Your)/    \1/"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ] || [ ! -f "$model" ]; then
  grep -E "ERROR|Error|Exception|Invalid" var/models/train.log | tail -20 >&2 || true
  echo "!! training failed (exit $status); full log: var/models/train.log" >&2
  exit 1
fi
find var/models -name 'hotline-*.tar.gz' ! -name "hotline-$fingerprint.tar.gz" -delete
echo "$(( $(date +%s) - start ))" > var/models/last_training_seconds
echo "==> Trained $model in $(cat var/models/last_training_seconds) s"
