# hookbridge: the two commands are `make run` and `make test`; the rest builds, lints,
# benchmarks and deploys.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
PYTHON      ?= python3
ARCH        ?= arm64
DIST        ?= dist
FUNCTIONS   := ingress fanout dispatch management

.PHONY: help run test test-rust lint fmt console-screenshots readme-providers bench bench-load bench-dispatch bench-cold-start soak fuzz crash-test build package deploy tools tools-lambda tools-sam clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## start every function in one process on the embedded store (127.0.0.1:3000)
	cargo run --release -p hookbridge-local

test: $(VENV)/.testtools ## every test, the AWS backend against a local moto server
	./infra/with-moto.sh $(MAKE) --no-print-directory test-rust
	./infra/schemathesis.sh   # API conformance of the served OpenAPI document (docs/api-conformance.md)
	./infra/console-test.sh   # the console in headless Chromium (tests/console)

test-rust:
	cargo build --quiet -p hookbridge-local   # the crash test runs it as its own process
	@if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --no-fail-fast; \
	else \
		cargo test --workspace --no-fail-fast; \
	fi

lint: $(VENV)/.lint tools-sam ## formatting, clippy, and the template (cfn-lint with every parameter combination, sam validate when installed, policy rules)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	./infra/lint-template.sh

fmt: ## format the code
	cargo fmt --all

bench: ## every benchmark (figures and method in BENCHMARKS.md)
	cargo build --release -p hookbridge-local
	cargo bench --workspace

bench-load: ## load through the local runner only (LOAD_EVENTS, LOAD_CONCURRENCY, LOAD_RUNS)
	cargo build --release -p hookbridge-local
	cargo bench -p hookbridge-tests --bench load

bench-dispatch: ## outbound dispatch under load (LOAD_EVENTS, LOAD_PRODUCERS, LOAD_RUNS, LOAD_RATE)
	cargo build --release -p hookbridge-local
	cargo bench -p hookbridge-tests --bench dispatch_load

bench-cold-start: $(VENV)/.testtools ## start each Lambda binary against a fake Runtime API: init and first invocation (BENCHMARKS.md)
	cargo build --release -p hookbridge-ingress -p hookbridge-fanout -p hookbridge-dispatch -p hookbridge-management
	./infra/with-moto.sh cargo bench -p hookbridge-tests --bench cold_start

soak: ## sustained load: SOAK_SECS (60) at the runner's maximum rate, RSS sampled (RELIABILITY.md)
	cargo build --release -p hookbridge-local
	cargo bench -p hookbridge-tests --bench soak

console-screenshots: $(VENV)/.testtools ## rerun the console's browser tests, keeping a screenshot of each page in docs/console
	cargo build --quiet -p hookbridge-local
	CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console ./infra/console-test.sh

readme-providers: ## Rewrite README's provider table from the catalog
	UPDATE_README=1 cargo nextest run -p hookbridge-tests -E 'test(the_readme_lists_the_catalog)'

fuzz: ## 30 s of each cargo-fuzz target (long runs: fuzz/run.sh 600; figures in RELIABILITY.md)
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	fuzz/run.sh 30

crash-test: ## the kill -9 crash test alone (it also runs in make test)
	cargo build --quiet -p hookbridge-local
	./infra/with-moto.sh cargo nextest run --workspace crash --no-capture

build: ## debug build of everything
	cargo build --workspace

package: tools-lambda ## arm64 Lambda zips of every function into dist/
	rustup target add $(if $(filter arm64,$(ARCH)),aarch64-unknown-linux-gnu,x86_64-unknown-linux-gnu)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --$(ARCH) --output-format zip \
		$(foreach f,$(FUNCTIONS),--package hookbridge-$(f)) --lambda-dir $(DIST)
	@ls -l $(DIST)/*/bootstrap.zip

deploy: tools-lambda tools-sam ## sam build && sam deploy --guided
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/.venv-sam/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam build && SAM_CLI_TELEMETRY=0 sam deploy --guided

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# moto serves the AWS APIs; openapi-spec-validator checks the generated OpenAPI document;
# http-message-signatures (and cryptography, which moto brings) verify outbound signatures;
# schemathesis tests the served API against it; playwright and pytest drive the console in
# Debian's Chromium (infra/console-test.sh installs that).
$(VENV)/.testtools: $(VENV)/bin/python Makefile
	$(PIP) install --quiet 'moto[server]>=5,<6' 'openapi-spec-validator>=0.7,<0.8' 'schemathesis>=4.32,<5' 'http-message-signatures>=0.5,<4' \
		'playwright>=1.45,<2' 'pytest>=8,<9'
	@touch $@

$(VENV)/.lint: $(VENV)/bin/python
	$(PIP) install --quiet cfn-lint pyyaml
	@touch $@

tools-lambda: $(VENV)/bin/python
	@test -x $(VENV)/bin/cargo-lambda || $(PIP) install --quiet cargo-lambda ziglang

# The SAM CLI pins its own versions of what moto and cfn-lint use: a venv of its own.
tools-sam:
	@test -x .venv-sam/bin/sam || ($(PYTHON) -m venv .venv-sam && .venv-sam/bin/pip install --quiet aws-sam-cli)

tools: $(VENV)/.testtools $(VENV)/.lint tools-lambda tools-sam ## install every helper tool into .venv (and the SAM CLI into .venv-sam)

clean:
	cargo clean
	rm -rf $(DIST) .aws-sam
