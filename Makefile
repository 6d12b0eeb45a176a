# propdesk — the two commands are `make run` and `make test`.
# Everything else is a step they call, or a convenience.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
# ccache hits across clones only with these (issue: foundation / build).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: deps configure build test test-unit bench run stop status lint format clean

deps:
	@bash deploy/local/deps.sh

configure:
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: deps configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit, integration and e2e, against a real MariaDB and Redis that
# the harness starts for this run (tests/harness/servers.sh).
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test-unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit $(CTEST_ARGS)

bench: build
	@bash tests/bench/run.sh $(BUILD_DIR)

run: build
	@bash deploy/local/run.sh start $(BUILD_DIR)

stop:
	@bash deploy/local/run.sh stop $(BUILD_DIR)

status:
	@bash deploy/local/run.sh status $(BUILD_DIR)

lint: deps configure
	@cmake --build $(BUILD_DIR) --target propdesk_lint_descriptor && cd $(BUILD_DIR) && ctest -R proto_buf_lint --output-on-failure

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	@rm -rf $(BUILD_DIR)
