# Thin wrapper over CMake presets. The two commands a user needs:
#   make demo   set up, build, create a demo device and run the seed examples
#   make test   set up, build with sanitizers, run every test (ctest)
# and: make bench (measurements), make stress (long fault campaigns), make fuzz (libFuzzer
# campaigns, FUZZ_SECONDS per target), make test-valgrind (unit tests under memcheck),
# make install.
PREFIX ?= /usr/local

.PHONY: all setup build test demo bench stress fuzz test-valgrind install clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@test -f build/build.ninja || cmake --preset dev >/dev/null
	@cmake --build --preset dev

test: setup
	@test -f build-asan/build.ninja || cmake --preset asan >/dev/null
	@cmake --build --preset asan
	@ctest --preset asan

demo: build
	@scripts/demo.sh build/bin

bench: setup
	@scripts/setup.sh --bench
	@test -f build-release/build.ninja || cmake --preset release >/dev/null
	@cmake --build --preset release
	@bench/run.sh build-release/bin

# Long power-cut and fault campaigns (not in CI): the same tests with QP_STRESS=1, which
# widens their sweeps (more geometries, seeds and cut points), then the power-cut campaigns
# (tests/stress/campaign.py: QP_STRESS_CUTS cuts, default 10000, and a summary table).
stress: setup
	@test -f build-asan/build.ninja || cmake --preset asan >/dev/null
	@cmake --build --preset asan
	@QP_STRESS=1 ctest --preset asan -L "fs|flash|patch|image|fota" --timeout 3600
	@/usr/bin/python3 tests/stress/campaign.py build-asan

# Fuzz campaigns (not in CI): clang + libFuzzer + ASan/UBSan in build-fuzz/, each target of
# fuzz/ for FUZZ_SECONDS (default 60), executions per target printed at the end.
FUZZ_SECONDS ?= 60
fuzz: setup
	@scripts/setup.sh --fuzz
	@test -f build-fuzz/build.ninja || cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz --target fuzz_image fuzz_patch fuzz_fs fuzz_device \
		fuzz_repl fuzz_mkcorpus
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh build-fuzz

# The C unit tests, fault sweeps and fuzz replays under Valgrind memcheck (build-valgrind/,
# no sanitizers); fails on any memcheck error or definite/indirect leak.
test-valgrind: setup
	@scripts/setup.sh --valgrind
	@test -f build-valgrind/build.ninja || cmake --preset valgrind >/dev/null
	@cmake --build --preset valgrind
	@scripts/valgrind.py build-valgrind

install: build
	@cmake --install build --prefix "$(PREFIX)"

clean:
	rm -rf build build-asan build-release build-fuzz build-valgrind
