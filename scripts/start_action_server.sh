#!/usr/bin/env bash
# Start the rasa-sdk action server in the background and wait until it answers.
# Usage: start_action_server.sh PORT   (env: DATABASE_URL etc. pass through)
set -euo pipefail
port=${1:-5055}
cd "$(dirname "$0")/.."
mkdir -p var
pidfile="var/actions-$port.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  bash scripts/stop_action_server.sh "$port"
fi
.venv/bin/rasa run actions --port "$port" --actions actions >"var/actions-$port.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
    echo "action server up on port $port (log: var/actions-$port.log)"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
  sleep 0.5
done
echo "action server failed to start; last lines of var/actions-$port.log:" >&2
tail -20 "var/actions-$port.log" >&2
exit 1
