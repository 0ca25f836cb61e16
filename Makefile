# gwspec: the one build entry point.
#   make            build every binary into bin/ (`all`, the default goal; `make help` lists
#                   every target)
#   make conform    build, then run the suite against the embedded reference gateway
#   make check      all tests: CUnit for every layer, then the harness end to end
#   make asan       the unit tests and the suite under ASan+UBSan
#   make mutate     automatic source mutation of the reference gateway (mutate/README.md)
# Layers: lib/ (wc_), reference-server/ (gw_), mock-providers/ (mp_), harness/ (hn_).
# Sources are found by wildcard, so adding a file to a layer is enough to build it.

CC       ?= cc
PKGS     := libwebsockets jansson libfyaml sqlite3
DEBS     := libwebsockets-dev libjansson-dev libfyaml-dev libcunit1-dev libsqlite3-dev pkg-config \
            jq libxml2-utils python3 python3-jsonschema python3-yaml python3-clang-14 libclang-14-dev \
            perl clang-format clang libclang-rt-14-dev
PYTHON   ?= /usr/bin/python3
BUILD    ?= build
ASAN_BUILD := build-asan
BIN      ?= bin
SAN      ?=
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -Ilib
LDFLAGS  += $(SAN)

.DEFAULT_GOAL := all

# --- dependencies: install them when missing (root), otherwise say what to install ---------
DEPS_STAMP := $(BUILD)/.deps-ok
$(DEPS_STAMP):
	@mkdir -p $(BUILD)
	@if ! pkg-config --exists $(PKGS) cunit 2>/dev/null || ! command -v jq >/dev/null \
	    || ! command -v xmllint >/dev/null \
	    || ! /usr/bin/python3 -c 'import jsonschema, yaml' 2>/dev/null \
	    || ! perl -MTAP::Parser -e 1 2>/dev/null || ! command -v prove >/dev/null \
	    || ! /usr/bin/python3 -c 'import clang.cindex' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "gwspec: installing $(DEBS)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBS) >/dev/null \
	      || { echo "gwspec: apt-get install failed" >&2; exit 1; }; \
	  else \
	    echo "gwspec: missing libraries; run as root: apt-get update && apt-get install -y $(DEBS)" >&2; \
	    exit 1; \
	  fi; \
	fi
	@touch $@

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CU_LIBS    = $(shell pkg-config --libs cunit 2>/dev/null)

# --- sources -----------------------------------------------------------------------------
LIB_SRCS := $(wildcard lib/*.c)
GW_SRCS  := $(filter-out reference-server/main.c,$(wildcard reference-server/*.c))
MP_SRCS  := $(filter-out mock-providers/main.c,$(wildcard mock-providers/*.c) $(wildcard mock-providers/personas/*.c))
# harness/: one folder per layer (harness/README.md); sources are included as "layer/x.h".
HN_SRCS  := $(filter-out harness/cmd/main.c,$(wildcard harness/*/*.c))
HN_SRCS  := $(filter-out harness/tests/%,$(HN_SRCS))
# The one piece of mock-providers/ that gwspec needs: the provider-script parser (lint checks
# scripts), reached through the include path.
MP_SCRIPT_SRCS := mock-providers/script.c
# reference-client/: the reference client of the client dialects (prefix rc_), bin/gwspec-client
RC_SRCS  := $(filter-out reference-client/main.c reference-client/relay.c,$(wildcard reference-client/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))
GW_OBJS  := $(call obj,$(GW_SRCS))
MP_OBJS  := $(call obj,$(MP_SRCS))
HN_OBJS  := $(call obj,$(HN_SRCS))
MP_SCRIPT_OBJS := $(call obj,$(MP_SCRIPT_SRCS))
RC_OBJS  := $(call obj,$(RC_SRCS))

BINS := $(BIN)/gwspec-gateway $(BIN)/gwspec $(if $(wildcard mock-providers/main.c),$(BIN)/gwspec-provider) \
        $(BIN)/gwspec-badgw $(BIN)/gwspec-client $(BIN)/gwspec-cli-relay
UNIT_BINS := $(foreach l,lib reference-server mock-providers harness reference-client,\
               $(if $(wildcard $(l)/tests/main.c),$(BUILD)/test-$(notdir $(l))))

.PHONY: all help conform conform-client check unit e2e asan mutants stress stress-external bench bench-suite bench-check lint \
        clean list-cases interop-cloudcli interop-claude-sdk mutate mutate-one mutate-selftest mutate-check fuzz \
        fuzz-replay fuzz-check fuzz-short browser
all: $(BINS)

help:
	@echo "make targets:"
	@echo "  all (default)     build every binary into $(BIN)/: $(notdir $(BINS))"
	@echo "  conform           build, then run the suite against the embedded reference gateway"
	@echo "  conform-client    the client catalogs (claude-remote/1, claude-control/1) against the"
	@echo "                    reference client"
	@echo "                    (GWSPEC_ARGS= adds gwspec run options)"
	@echo "  check             unit, then e2e"
	@echo "  unit              the CUnit tests of every layer"
	@echo "  e2e               tests/e2e.sh: the harness end to end (reports, schemas, exit codes,"
	@echo "                    signals, mutants)"
	@echo "  asan              check under ASan+UBSan (build-asan/); fails on any sanitizer report"
	@echo "  mutants           the suite against every mutant of the reference gateway"
	@echo "  mutate            automatic source mutation (every point in scope, -j $(MUTATE_JOBS)):"
	@echo "                    reports/mutation.md and .json; mutate-one KEY=ID reruns one"
	@echo "  mutate-check      the tool's self-test and a sampled pass (part of check)"
	@echo "  fuzz              libFuzzer (clang) over every fuzz/ target, FUZZ_SECONDS=$(FUZZ_SECONDS) each"
	@echo "  fuzz-replay       every committed fuzz input through its target, no fuzzer (part of check)"
	@echo "  fuzz-short        make fuzz for FUZZ_SHORT_SECONDS=$(FUZZ_SHORT_SECONDS) per target (for CI); skipped, with"
	@echo "                    a message, when clang cannot link a libFuzzer program"
	@echo "  stress            the whole suite RUNS=200 times at -j2 with the other core busy"
	@echo "  stress-external   the same against a gateway started outside the harness (a"
	@echo "                    base_url profile, no start): RUNS=50 by default"
	@echo "  bench             gwspec load against the reference gateway: relay to 1 and 10 sockets,"
	@echo "                    latency at half of peak, 10,000 idle connections (reports/bench.json)"
	@echo "  bench-suite       cases, median wall time and cases per second"
	@echo "  bench-check       gwspec check on synthetic transcripts: records/s, peak memory, linearity"
	@echo "  lint              gwspec lint over every case file (both dialects), then tests/lint-code.sh: symbol prefixes,"
	@echo "                    self-contained headers, wc_banned.h, registered test suites"
	@echo "  browser           the HTML report of a mutant run in headless Chromium (tests/browser-report.py;"
	@echo "                    installs chromium when root, else skipped): no console error, no network,"
	@echo "                    one arrow per record, witnesses highlighted; screenshots in build/browser/"
	@echo "  list-cases        gwspec list"
	@echo "  interop-cloudcli  the catalog against CloudCLI VERSION=$(VERSION) (needs npm)"
	@echo "  interop-claude-sdk  the claude-control/1 catalog against the Claude Agent SDK"
	@echo "                    VERSION=$(SDK_VERSION) (needs npm); TRANSPORT=ws: its WebSocket client"
	@echo "                    against claude-remote/1"
	@echo "  clean             remove every build directory (build/, bin/, build-asan/, build-cov/,"
	@echo "                    build-mutate*/)"

# The stamp is order-only: installing the libraries once does not make every object stale.
$(BUILD)/harness/%.o: CFLAGS += -Iharness -Imock-providers
$(BUILD)/reference-client/tests/%.o: CFLAGS += -Ireference-client
$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BIN)/gwspec-gateway: $(call obj,reference-server/main.c) $(GW_OBJS) $(MP_OBJS) $(LIB_OBJS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
$(BIN)/gwspec: $(call obj,harness/cmd/main.c) $(HN_OBJS) $(MP_SCRIPT_OBJS) $(LIB_OBJS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
$(BIN)/gwspec-provider: $(call obj,mock-providers/main.c) $(MP_OBJS) $(LIB_OBJS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BIN)/gwspec-client: $(call obj,reference-client/main.c) $(RC_OBJS) $(LIB_OBJS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# The Claude Code CLI as claude-control/1 plays it: stdin/stdout lines relayed to the harness's
# WebSocket at $GWSPEC_CLI_URL (reference-client/relay.c; lib/ and jansson only).
$(BIN)/gwspec-cli-relay: $(call obj,reference-client/relay.c) $(LIB_OBJS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# A deliberately broken gateway for the harness's robustness tests (tests/e2e.sh).
$(BIN)/gwspec-badgw: $(call obj,tests/badgw.c) $(LIB_OBJS)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# One CUnit runner per layer: <layer>/tests/main.c plus every <layer>/tests/test_*.c.
$(BUILD)/test-lib: $(call obj,$(wildcard lib/tests/*.c)) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CU_LIBS) -lm
$(BUILD)/test-reference-server: $(call obj,$(wildcard reference-server/tests/*.c)) $(GW_OBJS) $(MP_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CU_LIBS) -lm
$(BUILD)/test-mock-providers: $(call obj,$(wildcard mock-providers/tests/*.c)) $(MP_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CU_LIBS) -lm
$(BUILD)/test-reference-client: $(call obj,$(wildcard reference-client/tests/*.c)) $(RC_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CU_LIBS) -lm
$(BUILD)/test-harness: $(call obj,$(wildcard harness/tests/*.c)) $(HN_OBJS) $(MP_SCRIPT_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CU_LIBS) -lm

# --- fuzz targets (fuzz/README.md) ---------------------------------------------------------
# fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput. Linked with fuzz/replay.c it is
# $(BUILD)/fuzz-replay-NAME, which runs the committed corpus fuzz/corpus/NAME/ in `make check`;
# `make fuzz` links it with libFuzzer instead (clang, build-fuzz/).
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_DEPS_gateway    := $(GW_OBJS) $(MP_OBJS) $(LIB_OBJS)
FUZZ_DEPS_provider   := $(MP_OBJS) $(LIB_OBJS)
FUZZ_DEPS_case       := $(HN_OBJS) $(MP_SCRIPT_OBJS) $(LIB_OBJS)
FUZZ_DEPS_transcript := $(FUZZ_DEPS_case)
FUZZ_DEPS_wire       := $(FUZZ_DEPS_case)
FUZZ_DEPS_client     := $(RC_OBJS) $(LIB_OBJS)
FUZZ_DEPS_dispatch   := $(FUZZ_DEPS_gateway)
FUZZ_DEPS_dispatch_check := $(FUZZ_DEPS_case)
FUZZ_REPLAYS := $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz-replay-$(t))
# Inputs the tree already holds, replayed and used as seeds besides fuzz/corpus/NAME/.
FUZZ_SEEDS_case       := cases tests/lint
FUZZ_SEEDS_transcript := fixtures/transcripts
FUZZ_SEEDS_dispatch_check := fixtures/transcripts/dispatch
FUZZ_SPACE := $() $()
$(BUILD)/fuzz/%.o: CFLAGS += -Iharness -Imock-providers -Ireference-client -DGWSPEC_SRCDIR='"$(CURDIR)"'
define FUZZ_RULES
$(BUILD)/fuzz-replay-$(1): $(call obj,fuzz/fuzz_$(1).c fuzz/replay.c) $(FUZZ_DEPS_$(1))
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) -lm
$(BUILD)/fuzz-$(1): $(call obj,fuzz/fuzz_$(1).c) $(FUZZ_DEPS_$(1))
	$$(CC) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$(PKG_LIBS) -lm
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULES,$(t))))

# --- the jobs ----------------------------------------------------------------------------
GWSPEC_ARGS ?=
# Both dialects, one summary line each: chatgw/1 (the reference profile), then dispatch-ws/1.
# Each catalog's run also writes its self-contained HTML report to $(CONFORM_REPORTS)/conform-*.html
# (every case in the matrix; the failing ones with their sequence diagrams).
CONFORM_REPORTS ?= reports
conform: all
	GWSPEC_GATEWAY=$(BIN)/gwspec-gateway $(BIN)/gwspec run -j 2 \
	  --html $(CONFORM_REPORTS)/conform-chatgw-1.html $(GWSPEC_ARGS)
	GWSPEC_GATEWAY=$(BIN)/gwspec-gateway $(BIN)/gwspec run -j 2 --spec-version dispatch-ws/1 \
	  --target fixtures/targets/reference-dispatch.yaml \
	  --html $(CONFORM_REPORTS)/conform-dispatch-ws-1.html $(GWSPEC_ARGS)
	$(MAKE) conform-client

# the client catalogs (issue 14): the harness plays the server, the reference client is the target
# (bin/gwspec-client, built by the reference client's rule; ${bin_dir} in the profile is bin/)
conform-client: all
	GWSPEC_GATEWAY=$(BIN)/gwspec-gateway $(BIN)/gwspec run -j 2 --spec-version claude-remote/1 \
	  --target fixtures/targets/reference-client.yaml \
	  --html $(CONFORM_REPORTS)/conform-claude-remote-1.html $(GWSPEC_ARGS)
	GWSPEC_GATEWAY=$(BIN)/gwspec-gateway $(BIN)/gwspec run -j 2 --spec-version claude-control/1 \
	  --target fixtures/targets/reference-client-control.yaml \
	  --html $(CONFORM_REPORTS)/conform-claude-control-1.html $(GWSPEC_ARGS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done

e2e: all
	@GWSPEC_BIN=$(BIN) bash tests/e2e.sh

# browser: not part of check (Chromium is big and slow to start); BROWSER_SHOT=FILE also writes
# the failing case's diagram there (harness/report/seqdiag-example.png is one)
browser: all
	@GWSPEC=$(BIN)/gwspec /usr/bin/python3 tests/browser-report.py --out $(BUILD)/browser \
	  $(if $(BROWSER_SHOT),--shot $(BROWSER_SHOT))

# fuzz-check: every fuzz target for a few seconds beside its committed corpus (fuzz/README.md)
check: unit lint e2e fuzz-replay fuzz-check mutate-check
fuzz-check:
	@$(MAKE) --no-print-directory fuzz-short FUZZ_SHORT_SECONDS=$(FUZZ_CHECK_SECONDS)
FUZZ_CHECK_SECONDS ?= 8

# Every committed fuzz input (seeds and every input that ever failed) through each target,
# without the fuzzer: a crash, a sanitizer report (make asan) or a hang fails it.
fuzz-replay: $(FUZZ_REPLAYS)
	@set -e; $(foreach t,$(FUZZ_TARGETS),./$(BUILD)/fuzz-replay-$(t) fuzz/corpus/$(t) $(FUZZ_SEEDS_$(t));)

# libFuzzer over every target, FUZZ_SECONDS each (fuzz/README.md); findings land in
# build-fuzz/findings/NAME/ and fail the target.
FUZZ_SECONDS ?= 30
FUZZ_BUILD := build-fuzz
fuzz: $(DEPS_STAMP)
	$(MAKE) BUILD=$(FUZZ_BUILD) BIN=$(FUZZ_BUILD)/bin CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
	  $(foreach t,$(FUZZ_TARGETS),$(FUZZ_BUILD)/fuzz-$(t))
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh \
	  $(foreach t,$(FUZZ_TARGETS),$(t):$(subst $(FUZZ_SPACE),+,$(strip $(FUZZ_SEEDS_$(t)))))

# A short libFuzzer run for CI (fuzz/README.md): `make fuzz` at FUZZ_SHORT_SECONDS per target.
# When clang is missing or cannot link -fsanitize=fuzzer (Debian: clang and libclang-rt-14-dev)
# it says so and succeeds, so a machine without them still passes.
FUZZ_SHORT_SECONDS ?= 20
fuzz-short:
	@t=$$(mktemp -d) && trap 'rm -rf "$$t"' EXIT; \
	if ! command -v clang >/dev/null 2>&1; then \
	  echo "fuzz-short: skipped: no clang (Debian: apt-get install clang libclang-rt-14-dev)"; exit 0; \
	fi; \
	if ! printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(n && !d); }' \
	    | clang -x c - -fsanitize=fuzzer,address,undefined -o "$$t/probe" >"$$t/log" 2>&1; then \
	  echo "fuzz-short: skipped: clang cannot link a libFuzzer program (Debian: apt-get install libclang-rt-14-dev):"; \
	  head -3 "$$t/log"; exit 0; \
	fi; \
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS)

# Every process (unit tests, harness, its workers, gateways, providers) logs sanitizer reports,
# leaks included, into ASAN_LOGS; any report fails the target, even from a process whose exit
# status nobody checks (a gateway the harness stops).
ASAN_LOGS ?= /tmp/gwspec-asan-logs
asan:
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	ASAN_OPTIONS=log_path=$(ASAN_LOGS)/asan UBSAN_OPTIONS=log_path=$(ASAN_LOGS)/ubsan:print_stacktrace=1 \
	  $(MAKE) BUILD=$(ASAN_BUILD) BIN=$(ASAN_BUILD)/bin OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" check
	@if [ -n "$$(ls -A $(ASAN_LOGS))" ]; then \
	  echo "asan: sanitizer reports in $(ASAN_LOGS):"; head -40 $(ASAN_LOGS)/*; exit 1; \
	else echo "asan: no sanitizer report from any process"; fi

mutants: all
	@GWSPEC_BIN=$(BIN) bash tests/mutants.sh

# Automatic source mutation of the reference gateway (mutate/README.md). MUTATE_ARGS adds
# options (--file registry.c, --sample N --seed S, ...).
MUTATE_JOBS ?= 2
MUTATE_ARGS ?=
MUTATE_SAMPLE ?= 8
# Then the mutants that pass left standing are rerun with the gateway under ASan+UBSan (a memory
# error that does no visible harm under glibc is undefined behaviour, and a sanitizer report kills
# it), and the report covers both passes. MUTATE_ARGS applies to the first pass.
mutate: all $(DEPS_STAMP)
	$(PYTHON) mutate/mutate.py -j $(MUTATE_JOBS) $(MUTATE_ARGS) --report-dir reports/mutate-plain
	$(PYTHON) mutate/mutate.py -j $(MUTATE_JOBS) --san --survivors-of build-mutate/journal.jsonl \
	  --report-dir reports/mutate-san
	$(PYTHON) mutate/mutate.py --from-journal build-mutate/journal.jsonl \
	  --from-journal build-mutate-san/journal.jsonl $(MUTATE_ARGS)
mutate-one: all $(DEPS_STAMP)
	@test -n "$(KEY)" || { echo "make mutate-one KEY=ID (an id from reports/mutation.md)" >&2; exit 2; }
	$(PYTHON) mutate/mutate.py -j 1 --only $(KEY) --work build-mutate-one --report-dir reports/mutate-one $(MUTATE_ARGS)
mutate-selftest: $(DEPS_STAMP)
	$(PYTHON) mutate/tests/test_points.py
# A sampled pass: fails when the tool breaks or kills nothing, prints the sampled score.
mutate-check: all mutate-selftest
	$(PYTHON) mutate/mutate.py -j $(MUTATE_JOBS) --sample $(MUTATE_SAMPLE) --seed 1 --min-kills 1 \
	  --work build-mutate-check --report-dir reports/mutate-check

stress: all
	@GWSPEC_BIN=$(BIN) bash tests/stress.sh

stress-external: all
	@GWSPEC_BIN=$(BIN) EXTERNAL=1 bash tests/stress.sh

bench: all
	@nice -n 10 $(PYTHON) tests/bench/load.py --bin $(BIN)/gwspec $(BENCH_ARGS)
bench-suite: all
	@GWSPEC_BIN=$(BIN) bash tests/bench-suite.sh
bench-check: all
	@$(PYTHON) tests/bench/check.py --bin $(BIN)/gwspec $(BENCH_ARGS)

list-cases: all
	$(BIN)/gwspec list

lint: all
	$(BIN)/gwspec lint
	$(BIN)/gwspec lint --spec-version dispatch-ws/1
	$(BIN)/gwspec lint --spec-version claude-remote/1
	$(BIN)/gwspec lint --spec-version claude-control/1
	@bash tests/lint-code.sh $(BUILD)

# Every build directory a target makes: this Makefile's, the ASan build's, and the mutation
# tool's (build-cov, build-mutate*: mutate/mutate.py names them).
clean:
	rm -rf $(BUILD) $(BIN) $(ASAN_BUILD) $(FUZZ_BUILD) build-cov build-mutate*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Interop: the whole catalog against a real CloudCLI (npm @cloudcli-ai/cloudcli@$(VERSION)),
# installed into .interop/ and driven through the gwspec-provider personas. Not part of check.
VERSION ?= 1.37.3
interop-cloudcli: all
	@GWSPEC_BIN=$(BIN) VERSION=$(VERSION) bash tests/interop-cloudcli.sh

# Interop: the claude-control/1 catalog against the Claude Agent SDK (npm
# @anthropic-ai/claude-agent-sdk@VERSION), installed into .interop/ and run through
# tests/interop/claude-sdk/adapter.mjs and gwspec-cli-relay. Not part of check. VERSION given on
# the command line wins; else SDK_VERSION (VERSION's own default is CloudCLI's).
# TRANSPORT=ws: the SDK's browser WebSocket query() against the claude-remote/1 catalog instead.
SDK_VERSION ?= 0.3.337
TRANSPORT ?= process
interop-claude-sdk: all
	@GWSPEC_BIN=$(BIN) VERSION=$(if $(filter command line,$(origin VERSION)),$(VERSION),$(SDK_VERSION)) \
	    TRANSPORT=$(TRANSPORT) bash tests/interop-claude-sdk.sh
