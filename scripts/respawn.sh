#!/usr/bin/env bash
# Runs a command, and again whenever it exits, until it is told to stop (TERM/INT).
#   bash scripts/respawn.sh COMMAND [ARG...]
# Procfile.production runs each Rasa replica and the action server under it, so that
# one killed process comes back by itself while the others carry on (honcho stops
# every process when one exits). A first run that exits by itself within
# STARTUP_SECONDS is a refusal to start (a missing setting, a weak key): given up,
# with its status, so that honcho stops and the error shows. A process killed by a
# signal (status above 128) is started again whenever it happens. In Kubernetes the kubelet's restart policy
# does this job.
set -u
STARTUP_SECONDS=${RESPAWN_STARTUP_SECONDS:-60}
child=0
stop() {  # the command (or the pause before its restart) gets the signal too
  local jobs
  jobs=$(jobs -p)
  [ -n "$jobs" ] && kill -TERM $jobs 2>/dev/null
  wait
  exit 0
}
trap stop TERM INT
ever_up=0
while true; do
  started=$SECONDS
  "$@" &
  child=$!
  wait "$child"
  status=$?
  child=0
  if [ "$ever_up" -eq 0 ] && [ "$status" -le 128 ] && [ $((SECONDS - started)) -lt "$STARTUP_SECONDS" ]; then
    echo "respawn: $1 stopped during start-up (status $status); not starting it again" >&2
    exit "$status"
  fi
  ever_up=1
  echo "respawn: $1 exited with status $status; starting it again in 2 s" >&2
  sleep 2 &
  wait $!
done
