# The few verbs people type. Everything else lives in dev/.
.PHONY: up down status test build images fmt bench bench-quick clean-tests
SHELL := /usr/bin/env bash

## up: install what is missing, start the local stack (engines + control plane) and the services
up:
	@bash dev/stack.sh up
	@bash dev/services.sh up
	@bash dev/web.sh up

## down: stop everything `make up` started (data stays in .tripnest/)
down:
	@bash dev/web.sh down
	@bash dev/services.sh down
	@bash dev/stack.sh down

## status: show what is up and healthy
status:
	@bash dev/stack.sh status; bash dev/services.sh status; bash dev/web.sh status

## clean-tests: drop the databases and namespaces test runs left in the local stack
clean-tests:
	@bash dev/clean.sh

## test: fmt, clippy and every workspace test against the real stack (starts and stops it if needed)
test:
	@bash dev/test.sh

## images: after a code change, rebuild the images that changed and restart the Pods running them
images:
	@bash dev/services.sh images

## build: build every binary
build:
	@bash -c 'source dev/lib.sh; source dev/toolchain.sh; ensure_rust; cargo build --workspace --bins'

fmt:
	@cargo fmt --all

## bench: criterion benchmarks of the hot functions, then the load generator against the real stack
##        on release binaries at the small and the large size (seeded once, then cached; bench/RESULTS.md,
##        bench/results.json); `make bench ARGS=--quick` or `make bench-quick` for the short run at the
##        small size. Not part of `make test`.
CRITERION ?= --warm-up-time 1 --measurement-time 3
bench:
	@bash -c 'source dev/lib.sh; source dev/toolchain.sh; ensure_rust; cargo bench -p tripnest-common -p tripnest-booking -p tripnest-gateway --bench hot_paths --bench pricing --bench rate_limit -- $(CRITERION)'
	@bash -c 'source dev/lib.sh; source dev/toolchain.sh; ensure_rust; cargo build --release --workspace --bins && "$${CARGO_TARGET_DIR:-target}/release/tripnest-bench" $(ARGS)'

bench-quick:
	@$(MAKE) --no-print-directory bench ARGS="--quick $(ARGS)" CRITERION="--warm-up-time 1 --measurement-time 1"
