# The two commands: `make serve` and `make test`. Both install what is
# missing first (scripts/install-deps.sh), then configure and build.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:50051
# Extra statesd flags for `make serve`, e.g. ARGS=--name_charset=ascii
ARGS ?=

.PHONY: all deps build serve test bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

serve: build
	exec $(BUILD_DIR)/service/statesd --listen=$(LISTEN) $(ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

bench: build
	$(BUILD_DIR)/bench/rpc_bench

clean:
	rm -rf $(BUILD_DIR)
