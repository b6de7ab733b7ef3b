# The whole test suite, as CI runs it on a fresh machine: `make test`.
# It installs what the tests need first, then vets and runs every test with
# the race detector.

GO ?= go

.PHONY: test deps vet build

test: deps vet
	$(GO) test -race -count=1 -timeout 30m ./...

# deps installs the tools the tests use. Today that is only the Go module
# cache; browser and media tests add Debian packages here.
deps:
	$(GO) mod download

vet:
	$(GO) vet ./...

build:
	$(GO) build -o parley ./cmd/parley
