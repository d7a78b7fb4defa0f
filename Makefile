# hybridsync — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
DATA_DIR  ?= ./data
LISTEN    ?= 127.0.0.1:8080
TENANT_ADDR ?= 127.0.0.1:8443
FORESTS   ?= 1
CACHE     := $(CURDIR)/.cache
PW_VERSION := 1.64.1

# Browser tests: the playwright driver unpacked from npm's playwright-core, run
# by the system node, driving Debian's chromium (see scripts/e2e-deps.sh).
export PLAYWRIGHT_DRIVER_PATH := $(CACHE)/playwright-core-$(PW_VERSION)
export PLAYWRIGHT_NODEJS_PATH := $(shell command -v node)
export HYBRIDSYNC_CHROMIUM ?= /usr/lib/chromium/chromium

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: run
run: ## the console (http://127.0.0.1:8080, data in ./data), the tenant emulator, the two demo forests (FORESTS=0: none) and the federation demo: test DNS, AD FS and PingFederate stand-ins (FEDERATION=0: none); prints every account; Ctrl-C stops them
	GO=$(GO) DATA_DIR=$(DATA_DIR) LISTEN=$(LISTEN) TENANT_ADDR=$(TENANT_ADDR) FORESTS=$(FORESTS) scripts/run.sh

.PHONY: deps
deps: ## install what the tests need (apt: chromium; npm: playwright-core; Go modules)
	scripts/e2e-deps.sh
	$(GO) mod download

.PHONY: generate
generate: ## regenerate templ code
	$(GO) tool templ generate

.PHONY: check
check: ## fail if regenerating templ code or `go mod tidy` changes a file
	$(GO) tool templ generate
	$(GO) mod tidy
	@git diff --exit-code -- '*_templ.go' go.mod go.sum || { echo "generated files are stale: run 'make generate' and 'go mod tidy', then commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- '*_templ.go')" || { echo "untracked generated files: run 'make generate' and commit them"; exit 1; }

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w on the files above"; exit 1; }
	$(GO) vet ./...

.PHONY: test
test: deps check lint ## everything: unit, integration, AD forest and browser tests (installs what it needs)
	HYBRIDSYNC_E2E_REQUIRED=1 HYBRIDSYNC_FORESTS_REQUIRED=1 $(GO) test -race -count=1 -timeout 25m ./...

.PHONY: e2e
e2e: deps ## only the browser tests
	HYBRIDSYNC_E2E_REQUIRED=1 HYBRIDSYNC_FORESTS_REQUIRED=1 $(GO) test -count=1 -timeout 15m -v ./e2e/...

# e2e/graphsdk is a module of its own so that nothing else builds the Graph
# SDK: its first build takes minutes on two cores and over 4 GB of memory.
.PHONY: graph-sdk
graph-sdk: ## Microsoft's Graph SDK for Go and azidentity against the tenant emulator, loopback only (not in `test`: the first build takes minutes)
	cd e2e/graphsdk && $(GO) test -count=1 -timeout 30m ./...

.PHONY: fuzz
fuzz: ## fuzz every parser of outside input for a while (FUZZTIME=6s each, 18 targets, ~3 min)
	$(GO) test ./engine/setup -run '^$$' -fuzz FuzzComponentsForm -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/setup -run '^$$' -fuzz FuzzParseExport -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/setup -run '^$$' -fuzz '^FuzzDNKey$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./handlers -run '^$$' -fuzz FuzzWizardSubmit -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./handlers -run '^$$' -fuzz '^FuzzSafeNext$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/federation -run '^$$' -fuzz FuzzParsePFX -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/federation -run '^$$' -fuzz FuzzParseMetadata -fuzztime $${FUZZTIME:-6s}
	@# engine/directory's TestMain starts two Samba forests unless -short; its fuzz targets need none.
	$(GO) test -short ./engine/directory -run '^$$' -fuzz '^FuzzFilters$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test -short ./engine/directory -run '^$$' -fuzz '^FuzzParseUser$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test -short ./engine/directory -run '^$$' -fuzz '^FuzzDN$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test -short ./engine/directory -run '^$$' -fuzz '^FuzzIDs$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test -short ./engine/directory -run '^$$' -fuzz '^FuzzSecurityDescriptor$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test -short ./engine/directory -run '^$$' -fuzz '^FuzzParseRangeAttr$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/schedule -run '^$$' -fuzz '^FuzzParseMinutes$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/audit -run '^$$' -fuzz '^FuzzDownloads$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/cloud -run '^$$' -fuzz '^FuzzParseError$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/cloud -run '^$$' -fuzz '^FuzzRetryAfter$$' -fuzztime $${FUZZTIME:-6s}
	$(GO) test ./engine/cloud -run '^$$' -fuzz '^FuzzResolve$$' -fuzztime $${FUZZTIME:-6s}

.PHONY: bench
bench: ## benchmarks, printing their figures
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

.PHONY: bench-scale
bench-scale: ## the million-object benchmarks (an hour or more on 2 cores, several GB): full sync, deltas, a 250,000-member group, a connector space's read, the helpdesk over a million-object store, a 21,900-object forest's import vs ldapsearch; each prints its figures
	HYBRIDSYNC_BENCH_SCALE=1 $(GO) test -run '^$$' -bench '^BenchmarkScale' -benchtime 1x -count=1 -timeout 240m ./engine/metaverse
	HYBRIDSYNC_BENCH_SCALE=1 $(GO) test -run '^$$' -bench '^BenchmarkReadConnectorSpaceMillion$$' -benchtime 1x -count=1 -timeout 30m ./engine/store
	HYBRIDSYNC_BENCH_SCALE=1 $(GO) test -run '^$$' -bench '^BenchmarkHelpdeskMillion$$' -benchtime 20000x -count=1 -timeout 30m ./handlers
	HYBRIDSYNC_BENCH_SCALE=1 $(GO) test -run '^$$' -bench '^BenchmarkImportVsLdapsearchScale$$' -benchtime 1x -count=1 -timeout 90m -v ./engine/connector

.PHONY: forests
forests: ## start the two Samba AD test forests (127.0.0.2, 127.0.0.3) and print how to reach them
	GO=$(GO) scripts/forests.sh up

.PHONY: forests-down
forests-down: ## stop the test forests started by `make forests`
	GO=$(GO) scripts/forests.sh down
