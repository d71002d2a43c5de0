# The two commands: `make serve` and `make test`. Both install what is
# missing first (scripts/install-deps.sh), then configure and build. A build
# with nothing to do prints nothing, so `make serve` shows statesd's startup
# line first.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:50051
# The registry of `make serve`: var/states.db in this repository, whatever
# directory make runs from (statesd alone defaults to ~/.local/state).
DB ?= $(CURDIR)/var/states.db
# Extra statesd flags for `make serve`, e.g. ARGS=--name_charset=ascii
ARGS ?=

# cmake --build runs make again; without this every directory it enters
# prints two lines.
MAKEFLAGS += --no-print-directory

.PHONY: all deps build serve test bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	@cmake --build $(BUILD_DIR) -j$(JOBS)

serve: build
	@exec $(BUILD_DIR)/service/statesd --listen=$(LISTEN) --db=$(DB) $(ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

bench: build
	$(BUILD_DIR)/bench/rpc_bench

clean:
	rm -rf $(BUILD_DIR)
