#!/usr/bin/env bash
# The fleet demo (design §8, issue 8): three shepherds on this machine.
# Hosts A and B each run `networking` and a `web-server` serving HTTP on
# their own loopback port and listen on libp2p; Carol's workstation C
# listens nowhere. A and B grant C's daemon (by its peer ID) the right to
# start, stop, restart and see their web-server; C imports those
# capabilities as the proxies web-server-a and web-server-b, and
# web-server-fleet requires both. `herd start web-server-fleet` on C starts
# both web servers over libp2p.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-bin}
tmp=$(mktemp -d)
cleanup() {
	for h in a b c; do
		[ -f "$tmp/$h/pid" ] && kill "$(cat "$tmp/$h/pid")" 2>/dev/null || true
	done
	for h in a b c; do
		for _ in $(seq 50); do [ -f "$tmp/$h/pid" ] || break; sleep 0.1; done
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

run() { printf '\n$ %s\n' "$*"; "$@"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
herd() { local h=$1; shift; run "$bin/herd" -s "$tmp/$h/run/socket" "$@"; }

start() { # HOST [shepherd flags...]
	local h=$1; shift
	"$bin/shepherd" -c "$tmp/$h/services.yaml" -s "$tmp/$h/run/socket" --state "$tmp/$h/state" \
		--pid "$tmp/$h/pid" -l "$tmp/$h/shepherd.log" "$@" &
	for _ in $(seq 100); do [ -f "$tmp/$h/pid" ] && break; sleep 0.05; done
	[ -f "$tmp/$h/pid" ] || { echo "shepherd $h did not start; its log:"; cat "$tmp/$h/shepherd.log"; exit 1; }
}

declare -A port
for h in a b; do
	port[$h]=$(freeport)
	mkdir -p "$tmp/$h"
	cat > "$tmp/$h/services.yaml" <<-YAML
	services:
	  - name: networking
	    documentation: "The host's network (a milestone)."
	  - name: web-server
	    requires: [networking]
	    command: [$PWD/$bin/webserver, -listen, "127.0.0.1:${port[$h]}", -name, "host ${h^^}"]
	    auto-start: false
	YAML
	start "$h" --listen /ip4/127.0.0.1/tcp/0
done
mkdir -p "$tmp/c"
echo "services: []" > "$tmp/c/services.yaml"
start c

echo "Three daemons: A and B listen on libp2p, Carol's C only dials out."
herd a id
herd c id
carol=$("$bin/herd" -s "$tmp/c/run/socket" id | sed -n 's/^Peer ID: //p')

echo
echo "A and B grant C's daemon, and no one else, some rights on their web-server:"
for h in a b; do
	ref=$("$bin/herd" -s "$tmp/$h/run/socket" cap grant web-server --actions start,stop,restart,status --to-peer "$carol")
	echo "  $h: $ref"
	herd c cap import "web-server-$h" "$ref"
done
cat > "$tmp/c/fleet.yaml" <<YAML
services:
  - name: web-server-fleet
    documentation: "The web servers of hosts A and B."
    requires: [web-server-a, web-server-b]
    auto-start: false
YAML
herd c load "$tmp/c/fleet.yaml"

herd c start web-server-fleet
herd c status
herd c status web-server-fleet
herd c status web-server-a
herd a status
herd b status web-server
herd c peers
for h in a b; do
	run "$bin/webserver" -get "http://127.0.0.1:${port[$h]}/"
done

echo
echo "Stop the fleet and its members:"
herd c stop web-server-fleet
herd c stop web-server-a
herd c stop web-server-b
herd a status
for h in a b c; do
	echo
	echo "The log of $h:"
	cat "$tmp/$h/shepherd.log"
done
