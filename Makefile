# softkey: a FIDO2 security key in software.
#
#   make run     start a key on a pseudo-terminal (installs what it needs)
#   make test    go vet, then every test, real clients included
#   make bench   benchmarks
#   make fuzz    every fuzz target for FUZZTIME each
#   make lint    gofmt, go vet, staticcheck
#   make deps    the Debian packages the key and its tests use

GO        ?= go
FUZZTIME  ?= 30s
RUNARGS   ?=
# Debian packages: libfido2 for go-libfido2 (cgo) and OpenSSH's helper,
# libfido2's tools, python-fido2 0.9.1, OpenSSH's client, a C compiler.
DEBS      := libfido2-dev fido2-tools python3-fido2 openssh-client gcc
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run test bench fuzz lint

all: build

deps:
	@missing=""; \
	for p in $(DEBS); do \
		dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

build:
	$(GO) build ./...

run: deps
	$(GO) run ./cmd/softkey run $(RUNARGS)

test: deps
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Every Fuzz target of every package, one after the other, FUZZTIME each.
fuzz:
	@set -e; \
	for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...
