# softkey: a FIDO2 security key in software.
#
#   make run     start a key on a pseudo-terminal (installs what it needs)
#   make test    go vet, then every test, real clients included
#   make bench   benchmarks
#   make fuzz    every fuzz target for FUZZTIME each
#   make lint    gofmt, go vet, staticcheck
#   make deps    the Debian packages the key and its tests use
#   make vm-test boot a Linux kernel under qemu and use the key over uhid

GO        ?= go
FUZZTIME  ?= 30s
RUNARGS   ?=
# Debian packages: libfido2 for go-libfido2 (cgo) and OpenSSH's helper,
# libfido2's tools, python-fido2 0.9.1, OpenSSH's client, a C compiler,
# dbus-daemon for the private bus of the advert package's BlueZ test,
# OpenSSL's headers for the in-process TPM simulator (cgo, build tag
# tpmsim) and swtpm for the TPM tests that talk to a TPM process.
DEBS      := libfido2-dev fido2-tools python3-fido2 openssh-client gcc dbus-daemon libssl-dev swtpm
# The VM test: qemu (TCG), a static busybox and cpio for the initramfs,
# libfido2's tools to copy into it. The kernel is downloaded, not installed.
VMDEBS    := qemu-system-x86 busybox-static cpio fido2-tools libfido2-1
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps vm-deps build run test vm-test bench fuzz lint

all: build

# install_missing installs the Debian packages of $(1) that are not there.
define install_missing
	@missing=""; \
	for p in $(1); do \
		dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEBS))

# The VM test downloads the kernel package that linux-image-amd64 names,
# so apt's package lists must be there even when nothing is missing.
vm-deps:
	$(call install_missing,$(VMDEBS))
	@apt-cache show linux-image-amd64 >/dev/null 2>&1 || $(SUDO) apt-get update

build:
	$(GO) build ./...

run: deps
	$(GO) run ./cmd/softkey run $(RUNARGS)

# The engine's suite runs twice: with software keys, then (build tag
# tpmsim) with keys in go-tpm-tools' in-process TPM simulator.
test: deps vm-deps
	$(GO) vet ./...
	$(GO) vet -tags tpmsim ./...
	$(GO) test -timeout 30m ./...
	$(GO) test -tags tpmsim -timeout 30m ./authenticator/... ./cmd/softkey/

# One boot of Debian's kernel under qemu: softkey on /dev/uhid, found and
# used by fido2-token, fido2-cred and fido2-assert (transport/uhid/vm_test.go).
vm-test: vm-deps
	$(GO) test -count=1 -run TestVMUHID -v -timeout 10m ./transport/uhid/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	$(GO) test -tags tpmsim -run='^$$' -bench=. -benchmem ./authenticator/keys/tpmkeys/

# Every Fuzz target of every package, one after the other, FUZZTIME each.
# Minimising a new input is capped: its default of a minute stalls large
# inputs and eats the fuzzing time.
fuzz:
	@set -e; \
	for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s $$pkg; \
		done; \
	done

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags tpmsim ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest -tags tpmsim ./...
