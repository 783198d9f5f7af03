#!/usr/bin/env bash
# Stop the action server started by start_action_server.sh on PORT.
set -u
port=${1:-5055}
cd "$(dirname "$0")/.."
pidfile="var/actions-$port.pid"
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
kill "$pid" 2>/dev/null && for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
kill -9 "$pid" 2>/dev/null
rm -f "$pidfile"
exit 0
