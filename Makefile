# Thin wrapper around CMake and scripts/ (which need only bash: the README's
# Quick start runs them directly, as a fresh Debian has no make).
# `make check` builds and runs every test (scripts/check.sh); `make demo`
# runs the end-to-end demo (scripts/demo.sh); `make size` prints the
# footprint.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build check demo size deps clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

check:
	@BUILD=$(BUILD) CTEST_ARGS="$(CTEST_ARGS)" bash scripts/check.sh

demo:
	@bash scripts/demo.sh $(BUILD)

size:
	@bash scripts/size.sh

# Throughput model, CPU cost: tables and plot in bench/results/ (docs/performance.md).
.PHONY: bench
bench:
	@bash bench/run.sh $(BUILD)

deps:
	@bash scripts/deps.sh

clean:
	rm -rf $(BUILD) build-*

.PHONY: fuzz-long analyze
# Long fuzzing runs (FUZZ_ARGS="-t 600" for 10 minutes per harness).
fuzz-long:
	@bash scripts/fuzz-long.sh $(FUZZ_ARGS)

# cppcheck, clang-tidy and gcc -fanalyzer over src/ and ports/.
analyze:
	@bash scripts/static-analysis.sh
