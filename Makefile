# Healthcore — `make help` lists the targets.
SHELL := /usr/bin/env bash
GO    ?= go
TOOL  := $(GO) tool -modfile=tools/go.mod
BUF   := $(TOOL) buf

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run every service, the gateway and local drivers (healthcore dev)
	$(GO) run ./cmd/healthcore dev

.PHONY: demo
demo: ## make run, plus a demo of an appointment's whole life in minutes (healthcore dev -demo)
	$(GO) run ./cmd/healthcore dev -demo

.PHONY: build
build: ## Build bin/healthcore
	$(GO) build -o bin/healthcore ./cmd/healthcore

# The image's stamp: make image VERSION=v1.2.3 (default: git describe), the commit, the
# commit's time as the creation time (reproducible), the repository URL for the label.
VERSION           ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION          ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_SOURCE      ?= $(shell git remote get-url origin 2>/dev/null)
IMAGE_ARCH        ?= $(shell $(GO) env GOARCH)

.PHONY: image
image: ## Build the container image offline (no Docker): bin/healthcore-image.tar (docker load) and bin/oci (OCI layout)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath \
		-ldflags "-s -w -X main.version=$(VERSION)" -o bin/healthcore-linux-$(IMAGE_ARCH) ./cmd/healthcore
	$(GO) run ./deploy/image -binary bin/healthcore-linux-$(IMAGE_ARCH) -arch $(IMAGE_ARCH) \
		-version $(VERSION) -revision $(REVISION) -created $(SOURCE_DATE_EPOCH) -source "$(IMAGE_SOURCE)" \
		-tar bin/healthcore-image.tar -oci bin/oci

# The web app (web/): its build, web/dist, is committed and embedded in the binary, so
# make run needs no Node. These targets need Node 20.19+ and npm.
WEB_NPM := cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

.PHONY: web
web: ## Rebuild the web app into web/dist: npm ci, the typed API client from the edge's OpenAPI document, type check, vite build
	$(GO) run ./web/openapi web/build/openapi.v3.json
	$(WEB_NPM) npm ci --no-audit --no-fund
	$(WEB_NPM) npm run gen:api
	$(WEB_NPM) npm run build

.PHONY: web-dev
web-dev: ## Vite's dev server at http://127.0.0.1:5173, proxying the API to make run's gateway (HEALTHCORE_URL, default http://127.0.0.1:8080)
	$(WEB_NPM) npm ci --no-audit --no-fund
	$(WEB_NPM) npm run dev

.PHONY: check-web
check-web: web ## Fail when the committed web/dist or the generated client is not what make web produces
	@git add -N web/dist web/src/api >/dev/null 2>&1 || true
	@if ! git diff --quiet --exit-code -- web/dist web/src/api || [ -n "$$(git status --porcelain -- web/dist web/src/api)" ]; then \
		git status --porcelain -- web/dist web/src/api; echo "web/dist is out of date: run make web and commit"; exit 1; fi
	@echo "web/dist is up to date"

.PHONY: test-web
test-web: ## The web app's browser tests: Playwright drives /usr/bin/chromium against a healthcore dev stack on a fresh database
	$(WEB_NPM) npm ci --no-audit --no-fund
	DATABASE_URL="$${DATABASE_URL:-$$($(GO) run ./cmd/healthcore postgres -log-level=warn)}" \
		HEALTHCORE_WEB_TESTS=1 $(GO) test -count=1 -run '^TestWeb_' ./e2e/

.PHONY: test
test: ## Run the whole suite against PostgreSQL (DATABASE_URL, 127.0.0.1:5432, or a private cluster), then fuzz-short
	DATABASE_URL="$${DATABASE_URL:-$$($(GO) run ./cmd/healthcore postgres -log-level=warn)}" \
		$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz-short

FUZZTIME       ?= 1m
FUZZTIME_SHORT ?= 3s

.PHONY: fuzz
fuzz: ## Run every fuzz target (func FuzzXxx in a _test.go) for FUZZTIME each (default 1m)
	./scripts/fuzz.sh $(FUZZTIME)

.PHONY: fuzz-short
fuzz-short: ## Run every fuzz target for FUZZTIME_SHORT each (default 3s; part of make test)
	./scripts/fuzz.sh $(FUZZTIME_SHORT)

.PHONY: vet
vet: ## go vet
	$(GO) vet ./...

.PHONY: staticcheck
staticcheck: ## staticcheck (pinned in tools/go.mod) over everything but the generated gen/
	$(TOOL) staticcheck $$($(GO) list ./... | grep -v '^healthcore/gen/')

.PHONY: check-tidy
check-tidy: ## Fail when go.mod or go.sum is not what go mod tidy makes (e.g. a direct dependency marked indirect)
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff

.PHONY: protos
protos: ## Copy the imported third-party .proto files into third_party/proto
	./scripts/fetch-protos.sh

.PHONY: generate
generate: protos ## Regenerate gen/ from proto/ (buf with the generators in tools/go.mod)
	$(BUF) generate
	./scripts/gen-openapi-embed.sh

.PHONY: check-generate
check-generate: generate ## Fail when gen/ is not what make generate produces
	@git add -N gen >/dev/null 2>&1 || true
	@if ! git diff --quiet --exit-code -- gen || [ -n "$$(git status --porcelain -- gen)" ]; then \
		git status --porcelain -- gen; echo "gen/ is out of date: run make generate and commit"; exit 1; fi
	@echo "gen/ is up to date"

.PHONY: lint
lint: protos ## buf lint (STANDARD), buf format check and gofmt
	$(BUF) lint
	$(BUF) format --diff --exit-code proto
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w"; exit 1; }

PARTNER_PROTO ?= build/partner-proto

.PHONY: partner-proto
partner-proto: protos ## Write the proto module partner clinics compile against (build/partner-proto), buf build and lint it, generate a Go client from it and compile that
	$(GO) run ./scripts/partnerproto -out $(PARTNER_PROTO)
	$(BUF) build $(PARTNER_PROTO)
	$(BUF) lint $(PARTNER_PROTO)
	rm -rf build/partner-gen
	$(BUF) generate $(PARTNER_PROTO)/proto --template scripts/partnerproto/check.gen.yaml
	$(GO) build ./build/partner-gen/...
	rm -rf build/partner-gen
	@echo "$(PARTNER_PROTO): the partner module builds, lints, and its generated Go client compiles"

.PHONY: breaking
breaking: ## Compare proto/ against the main branch for breaking changes
	./scripts/buf-breaking.sh main

CHART        := deploy/helm/healthcore
KUBE_VERSION := 1.33.0

.PHONY: deploy-check
deploy-check: ## helm lint and helm template the chart for values-dev and values-eks, decode every object strictly (k8s.io/api) and check the deployment policy
	@for f in values-dev.yaml values-eks.yaml; do \
		$(TOOL) helm lint --strict --kube-version $(KUBE_VERSION) $(CHART) -f $(CHART)/$$f && \
		$(TOOL) helm template healthcore $(CHART) -f $(CHART)/$$f --kube-version $(KUBE_VERSION) >/dev/null && \
		echo "helm template with $$f: ok" || exit 1; \
	done
	cd tools && $(GO) test -count=1 ./deploycheck/
	$(GO) test -count=1 ./deploy/helm/

.PHONY: observability-check
observability-check: ## Parse the Prometheus rules with Prometheus' own parser and unit-test their alerts, decode the collector, Fluent Bit and Grafana configs, and check every metric they name against the code
	$(GO) test -count=1 ./deploy/observability/
	cd tools && $(GO) test -count=1 ./obscheck/

.PHONY: readme-walk
readme-walk: ## Run the README's "Try it" blocks in order against a fresh make demo on a throwaway database
	./scripts/readme-walk.sh

.PHONY: bench
bench: ## Run the benchmarks under bench/ (see README for the figures)
	$(GO) test -run '^$$' -bench . -benchmem ./bench/...
