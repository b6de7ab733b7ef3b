# The whole test suite, as CI runs it on a fresh machine: `make test`.
# It installs what the tests need first, then vets and runs every test with
# the race detector.

GO ?= go

.PHONY: test deps vet build

# PARLEY_REQUIRE_MEDIA makes tests that need ffmpeg, Chromium or the npm
# driver fail instead of skipping when one is missing.
test: deps vet
	PARLEY_REQUIRE_MEDIA=1 $(GO) test -race -count=1 -timeout 30m ./...

# deps installs what the tests use: the Go module cache, Debian's ffmpeg
# (test media is encoded at test time; recordings are checked with ffprobe)
# and Chromium (browser tests), and the browser-test driver from npm.
# Installed tools are kept, so a second run skips the apt step.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
E2E := signaling/web/e2e

deps:
	$(GO) mod download
	@if ! command -v ffprobe >/dev/null || ! command -v chromium >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; \
	fi
	@if [ -f $(E2E)/package-lock.json ]; then npm ci --prefix $(E2E) --no-audit --no-fund >/dev/null; fi

vet:
	$(GO) vet ./...

build:
	$(GO) build -o parley ./cmd/parley
