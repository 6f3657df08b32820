# The two commands (README): `make demo` and `make test`. Both run the idempotent set-up first.
.PHONY: setup demo test bench fmt lint cuda-check

CARGO ?= cargo
export GLASSBOX_ROOT := $(CURDIR)

# On a CUDA host: `GLASSBOX_ORT_FLAVOUR=cuda make demo` sets up onnxruntime-gpu and the float
# encoder, builds with the `cuda` feature and runs the classifiers with `--device cuda`
# (toxicity stays on the CPU).
ifeq ($(GLASSBOX_ORT_FLAVOUR),cuda)
FEATURES := --features cuda
demo: export GLASSBOX_DEVICE ?= cuda
# The BiLSTM toxicity model is faster on the CPU (benches/RESULTS.md, session 4).
demo: export GLASSBOX_BUNDLE_DEVICES ?= toxicity=cpu
endif

setup:
	scripts/setup.sh

demo: setup
	bash -c "source scripts/env.sh && $(CARGO) run --release -p glassbox $(FEATURES) -- demo"

test: setup
	scripts/test.sh

bench: setup
	$(CARGO) bench --workspace

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# On a CUDA host, after `GLASSBOX_ORT_FLAVOUR=cuda make setup`: the CUDA provider against the
# CPU one (tests/cuda.rs), then the classify bench on the GPU.
cuda-check:
	GLASSBOX_ORT_FLAVOUR=cuda bash -c "source scripts/env.sh && \
	  GLASSBOX_TEST_CUDA=1 $(CARGO) test --release -p glassbox-classify --features cuda --test cuda --test ort -- --test-threads 1 && \
	  GLASSBOX_BENCH_DEVICE=cuda $(CARGO) bench -p glassbox-classify --features cuda --bench classify -- --warm-up-time 1 --measurement-time 3"
