# Two commands do all set-up on a fresh Debian 12 machine:
#   make demo   install what is missing, build, show a container (and a micro-VM) running
#   make test   install what is missing, build, run every test
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build images test demo bench fuzz clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

configure: deps $(BUILD)/build.ninja

build: configure
	ninja -C $(BUILD)

images: build
	@scripts/make-base-image $(BUILD)/images
	@scripts/prepare-fixtures $(BUILD)

test: images
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j $(JOBS)

demo: images
	@scripts/demo $(BUILD)

bench: images
	@for b in bench/*/run; do echo "== $$b"; $$b $(BUILD) || exit 1; done

# Fuzzing (docs/security.md, "Fuzzing"): clang-16 with libFuzzer, ASan and
# UBSan, in a build dir of its own; each target runs FUZZ_SECONDS on its
# corpus and any crash, leak, sanitizer report or timeout fails.
# FUZZ_TARGETS=name1,name2 runs only those; FUZZ_TIMEOUT=N seconds per input.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?=
FUZZ_TIMEOUT ?= 25
fuzz:
	@scripts/install-deps fuzz
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16
	ninja -C $(FUZZ_BUILD) fuzz_all
	FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
