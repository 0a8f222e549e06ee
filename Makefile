# shepherd-go. `make demo` runs the demo, `make test` the whole test suite.
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build test test-stress lint bench demo demo-local fuzz clean

# herd is built without cgo: linked to the C library, a Go program takes
# 0.75 ms more to start, a quarter of a `herd status` (docs/herd.md).
build:
	$(GO) build -o bin/ ./cmd/shepherd ./examples/fleet/webserver
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/herd

test: lint
	$(GO) test -race -count=1 -timeout 25m ./...

# The whole suite again while stress-ng keeps two CPUs busy: the
# end-to-end scripts and the tests that start daemons, sshd and libp2p
# hosts must not depend on a quiet machine (issue 15). The pure packages
# come along: they cost seconds beside cmd/herd, and a list of packages
# would go stale as packages move. stress-ng is stopped however the tests
# end: pass, failure, Ctrl-C (the shell waits for go test, which got the
# signal too), a SIGTERM to make alone (then once go test is done); its
# --timeout is the backstop should the shell itself be killed. A loaded
# machine takes longer over cmd/herd, hence the larger -timeout.
STRESS ?= --cpu 2
test-stress:
	@command -v stress-ng >/dev/null || { echo 'test-stress needs stress-ng (apt-get install stress-ng)' >&2; exit 1; }
	@stress-ng $(STRESS) --timeout 40m --quiet & load=$$!; \
	trap 'kill $$load 2>/dev/null; wait $$load' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP; \
	echo "stress-ng $(STRESS) (PID $$load) beside: $(GO) test -race -count=1 -timeout 25m ./..."; \
	$(GO) test -race -count=1 -timeout 25m ./...

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Short fuzzing runs of everything that parses untrusted bytes.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./services/config/
	$(GO) test -run '^$$' -fuzz FuzzEnvironmentFile -fuzztime 30s ./services/config/
	$(GO) test -run '^$$' -fuzz FuzzDecoder -fuzztime 30s ./netlayer/wire/
	$(GO) test -run '^$$' -fuzz FuzzParseSturdyref -fuzztime 30s ./capability/
	$(GO) test -run '^$$' -fuzz FuzzAttenuationNeverWidens -fuzztime 30s ./capability/
	$(GO) test -run '^$$' -fuzz FuzzCaretakerGainsNoAuthority -fuzztime 30s ./actors/caretaker/
	$(GO) test -run '^$$' -fuzz FuzzUnprivilegedGainsNothing -fuzztime 30s ./daemon/
	$(GO) test -run '^$$' -fuzz FuzzParseInventory -fuzztime 30s ./fleet/
	$(GO) test -run '^$$' -fuzz FuzzHostilePeers -fuzztime 30s ./netlayer/p2p/
	$(GO) test -run '^$$' -fuzz FuzzProxyRemoteReplies -fuzztime 30s ./daemon/

bench: build
	$(GO) run ./bench -bin bin
	@echo
	@echo "history writer (1000 senders, synced events) vs raw pebble in the same run:"
	@$(GO) test -run '^$$' -bench 'HistoryWriter' -benchtime 1x ./actors/historian/ | grep Benchmark
	@$(GO) test -run '^$$' -bench 'SyncedStateChange' -benchtime 300x ./actors/historian/ | grep Benchmark

# The fleet demo: three shepherds, a fleet started over libp2p.
demo: build
	./examples/fleet/demo.sh

# One shepherd on examples/services.yaml.
demo-local: build
	./examples/demo.sh

clean:
	rm -rf bin
