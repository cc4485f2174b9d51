# Two commands do all set-up on a fresh Debian 12 machine:
#   make demo   install what is missing, build, show a container (and a micro-VM) running
#   make test   install what is missing, build, run every test
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build images test demo bench clean

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

clean:
	rm -rf $(BUILD)
