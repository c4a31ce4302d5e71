# Thin wrapper around CMake. `make check` builds and runs every test;
# `make demo` runs the end-to-end demo; `make size` prints the footprint.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build check demo size deps clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

check: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: deps build
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
