#!/usr/bin/env bash
# The local demo: a shepherd on examples/services.yaml in a temporary
# directory, then herd status, a start, a detailed status and a stop.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin}
tmp=$(mktemp -d)
sock=$tmp/run/socket
cleanup() {
	[ -f "$tmp/pid" ] && kill "$(cat "$tmp/pid")" 2>/dev/null || true
	for _ in $(seq 50); do [ -f "$tmp/pid" ] || break; sleep 0.1; done
	rm -rf "$tmp"
}
trap cleanup EXIT

run() { printf '\n$ %s\n' "$*"; "$@"; }

"$bin/shepherd" -c examples/services.yaml -s "$sock" --state "$tmp/state" --pid "$tmp/pid" -l "$tmp/shepherd.log" &
for _ in $(seq 100); do [ -f "$tmp/pid" ] && break; sleep 0.05; done
[ -f "$tmp/pid" ] || { echo "shepherd did not start; its log:"; cat "$tmp/shepherd.log"; exit 1; }

run "$bin/herd" -s "$sock" status
run "$bin/herd" -s "$sock" start web-server
run "$bin/herd" -s "$sock" start migrate
sleep 1.2
run "$bin/herd" -s "$sock" status clock
run "$bin/herd" -s "$sock" ping clock
run "$bin/herd" -s "$sock" stop networking
run "$bin/herd" -s "$sock" history clock
run "$bin/herd" -s "$sock" status
echo
echo "The daemon's log:"
cat "$tmp/shepherd.log"
