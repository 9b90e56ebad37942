# Thin wrapper over CMake presets. The two commands a user needs:
#   make demo   set up, build, create a demo device and run the seed examples
#   make test   set up, build with sanitizers, run every test (ctest)
# and: make bench (measurements), make stress (long fault campaigns), make install.
PREFIX ?= /usr/local

.PHONY: all setup build test demo bench stress install clean

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
# widens their sweeps (more geometries, seeds and cut points).
stress: setup
	@test -f build-asan/build.ninja || cmake --preset asan >/dev/null
	@cmake --build --preset asan
	@QP_STRESS=1 ctest --preset asan -L "fs|flash|patch|image|fota" --timeout 3600

install: build
	@cmake --install build --prefix "$(PREFIX)"

clean:
	rm -rf build build-asan build-release
