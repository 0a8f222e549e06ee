# shepherd-go. `make demo` runs the demo, `make test` the whole test suite.
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build test test-stress lint bench bench-scale demo demo-local fuzz clean man completion install uninstall deb dashboard-img

# Where the binaries go, and what `make man`, `make completion` and `make
# deb` make (docs/packaging.md).
BIN ?= bin
BUILDDIR ?= build

# The version `shepherd --version` and `herd --version` print, and the
# Debian package's: the file VERSION (a release tarball), else `git
# describe` of the last tag, else 0.0.0-N-gHASH (N commits, no tag yet),
# each with -dirty when the work tree has changes. COMMIT is the full hash.
ifeq ($(origin VERSION),undefined)
VERSION := $(shell cat VERSION 2>/dev/null || git describe --tags --dirty 2>/dev/null || \
	{ n=$$(git rev-list --count HEAD) && h=$$(git describe --always --dirty) && echo "0.0.0-$$n-g$$h"; } 2>/dev/null || echo unknown)
endif
ifeq ($(origin COMMIT),undefined)
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
endif
LDFLAGS = -X 'github.com/shepherd-go/shepherd/internal/version.version=$(VERSION)' \
	-X 'github.com/shepherd-go/shepherd/internal/version.commit=$(COMMIT)' $(EXTRA_LDFLAGS)
# The date of the manual pages, for reproducible builds: the commit's.
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
endif
export SOURCE_DATE_EPOCH

# herd is built without cgo: linked to the C library, a Go program takes
# 0.75 ms more to start, a quarter of a `herd status` (docs/herd.md). For
# the same reason herd leaves the commands that link a YAML parser,
# x/crypto/ssh and the importers (fleet, hosts, config, import) to
# herd-tools, which it runs from beside itself.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/shepherd ./examples/fleet/webserver
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/herd ./cmd/herd/herd-tools

# Manual pages: herd.1, herd-COMMAND.1 for each command, shepherd.1, from
# the commands and options themselves, into $(BUILDDIR)/man/man1. The
# generator is a program of its own: herd never links cobra's doc package.
man:
	rm -rf $(BUILDDIR)/man
	$(GO) run ./cmd/herd/internal/genman -o $(BUILDDIR)/man -version '$(VERSION)'

# Shell completion files, from herd itself, into $(BUILDDIR)/completion.
completion: build
	rm -rf $(BUILDDIR)/completion
	mkdir -p $(BUILDDIR)/completion
	$(BIN)/herd completion bash >$(BUILDDIR)/completion/herd.bash
	$(BIN)/herd completion zsh >$(BUILDDIR)/completion/_herd
	$(BIN)/herd completion fish >$(BUILDDIR)/completion/herd.fish

# make install [PREFIX=/usr/local] [DESTDIR=]: the binaries, manual pages
# (gzip'd), completion files, the systemd units
# (system and user) and the documentation. make uninstall removes them.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/shepherd-go
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSTEMDUSERUNITDIR ?= $(PREFIX)/lib/systemd/user
UNITSED = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'

install: build man completion
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSTEMDUSERUNITDIR)
	install -m 755 $(BIN)/shepherd $(BIN)/herd $(BIN)/herd-tools $(DESTDIR)$(BINDIR)/
	for f in $(BUILDDIR)/man/man1/*.1; do \
		gzip -9n <$$f >$(DESTDIR)$(MANDIR)/man1/$${f##*/}.gz && chmod 644 $(DESTDIR)$(MANDIR)/man1/$${f##*/}.gz || exit 1; \
	done
	install -D -m 644 $(BUILDDIR)/completion/herd.bash $(DESTDIR)$(BASHCOMPDIR)/herd
	install -D -m 644 $(BUILDDIR)/completion/_herd $(DESTDIR)$(ZSHCOMPDIR)/_herd
	install -D -m 644 $(BUILDDIR)/completion/herd.fish $(DESTDIR)$(FISHCOMPDIR)/herd.fish
	$(UNITSED) packaging/systemd/shepherd.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/shepherd.service
	$(UNITSED) packaging/systemd/shepherd-user.service.in >$(DESTDIR)$(SYSTEMDUSERUNITDIR)/shepherd.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/shepherd.service $(DESTDIR)$(SYSTEMDUSERUNITDIR)/shepherd.service
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -m 644 examples/services.yaml $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 packaging/services.yaml $(DESTDIR)$(DOCDIR)/examples/etc-shepherd-services.yaml

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/shepherd $(DESTDIR)$(BINDIR)/herd $(DESTDIR)$(BINDIR)/herd-tools
	rm -f $(DESTDIR)$(MANDIR)/man1/shepherd.1.gz $(DESTDIR)$(MANDIR)/man1/herd.1.gz $(DESTDIR)$(MANDIR)/man1/herd-*.1.gz
	rm -f $(DESTDIR)$(BASHCOMPDIR)/herd $(DESTDIR)$(ZSHCOMPDIR)/_herd $(DESTDIR)$(FISHCOMPDIR)/herd.fish
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/shepherd.service $(DESTDIR)$(SYSTEMDUSERUNITDIR)/shepherd.service
	rm -rf $(DESTDIR)$(DOCDIR)

# The Debian package, $(BUILDDIR)/shepherd-go_VERSION_ARCH.deb: what make
# install puts under /usr, the example /etc/shepherd/services.yaml as a
# conffile, and packaging/debian's maintainer scripts; built by
# dpkg-deb, no debhelper (packaging/mkdeb writes the control files). The
# binaries are stripped of their symbol tables and DWARF (-s -w), as
# Debian strips binaries: a third of their size; a Go panic's trace still
# names functions and lines. DEB_COMPRESS: dpkg-deb's -Z (xz, gzip).
DEB_COMPRESS ?= xz
deb:
	rm -rf $(BUILDDIR)/deb
	$(MAKE) install VERSION='$(VERSION)' COMMIT='$(COMMIT)' EXTRA_LDFLAGS='-s -w' \
		DESTDIR=$(abspath $(BUILDDIR))/deb/root PREFIX=/usr ZSHCOMPDIR=/usr/share/zsh/vendor-completions
	install -D -m 644 packaging/services.yaml $(BUILDDIR)/deb/root/etc/shepherd/services.yaml
	$(GO) run ./packaging/mkdeb -root $(BUILDDIR)/deb/root -scripts packaging/debian -version '$(VERSION)' \
		-compress $(DEB_COMPRESS) -o $(BUILDDIR)

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

# The dashboard's screenshots in docs (docs/http.md, README): its browser
# test in headless Chromium (apt-get install chromium) rewrites them.
dashboard-img:
	$(GO) test -count=1 -run TestDashboardInChromium ./httpapi/dashboard/ -update

lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt -w these files:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Short fuzzing runs of everything that parses untrusted bytes.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./services/config/
	$(GO) test -run '^$$' -fuzz FuzzEnvironmentFile -fuzztime 30s ./services/config/
	$(GO) test -run '^$$' -fuzz FuzzDecoder -fuzztime 30s ./netlayer/wire/
	$(GO) test -run '^$$' -fuzz FuzzFastRequest -fuzztime 30s ./netlayer/wire/
	$(GO) test -run '^$$' -fuzz FuzzNotify -fuzztime 30s ./internal/notify/
	$(GO) test -run '^$$' -fuzz FuzzParseSturdyref -fuzztime 30s ./capability/
	$(GO) test -run '^$$' -fuzz FuzzAttenuationNeverWidens -fuzztime 30s ./capability/
	$(GO) test -run '^$$' -fuzz FuzzFilePatternsNarrow -fuzztime 30s ./capability/
	$(GO) test -run '^$$' -fuzz FuzzCaretakerGainsNoAuthority -fuzztime 30s ./actors/caretaker/
	$(GO) test -run '^$$' -fuzz FuzzUnprivilegedGainsNothing -fuzztime 30s ./daemon/
	$(GO) test -run '^$$' -fuzz FuzzParseInventory -fuzztime 30s ./fleet/
	$(GO) test -run '^$$' -fuzz FuzzHostilePeers -fuzztime 30s ./netlayer/p2p/
	$(GO) test -run '^$$' -fuzz FuzzProxyRemoteReplies -fuzztime 30s ./daemon/
	$(GO) test -run '^$$' -fuzz FuzzSexp -fuzztime 30s ./importer/sexp/
	$(GO) test -run '^$$' -fuzz FuzzShepherd -fuzztime 30s ./importer/shepherd/
	$(GO) test -run '^$$' -fuzz FuzzSupervisord -fuzztime 30s ./importer/supervisord/
	$(GO) test -run '^$$' -fuzz FuzzSystemd -fuzztime 30s ./importer/systemd/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./services/calendar/
	$(GO) test -run '^$$' -fuzz FuzzParseStream -fuzztime 30s ./fleet/relay/

# Fleet scale (issue 22, docs/scale.md): fleet exec over 10 to 1000
# simulated exporters, directly and through relays, and clush over SSH.
bench-scale: build
	$(GO) build -o $(BIN)/ ./cmd/fleetsim
	$(GO) run ./bench -bin $(BIN) -only scale

bench: build
	$(GO) build -o $(BIN)/ ./cmd/fleetsim
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
	rm -rf $(BIN) $(BUILDDIR)
