# The two commands (README): `make demo` and `make test`. Both run the idempotent set-up first.
.PHONY: setup demo test bench fmt lint

CARGO ?= cargo
export GLASSBOX_ROOT := $(CURDIR)

setup:
	scripts/setup.sh

demo: setup
	bash -c "source scripts/env.sh && $(CARGO) run --release -p glassbox -- demo"

test: setup
	scripts/test.sh

bench: setup
	$(CARGO) bench --workspace

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
