# dtutil, rebuilt. `make demo` shows the main job; `make test` runs every test.
CARGO ?= cargo
BIN := target/release/dtutil
DEMO_OUT := demo-out

.PHONY: all build demo servers test test-deps lint check-targets unit proofs bench bench-batch bench-assess clean fuzz fuzz-smoke fuzz-seed crash-test

all: build

build:
	$(CARGO) build --release --bin dtutil

# The guide's three migrations (file system -> Azure Files, msdb -> Azure SQL MI's msdb,
# msdb -> Azure Files) typed as a user would, against the test servers on loopback;
# then inspect of what arrived. Needs only cargo (demo.sh says where to look).
demo:
	$(CARGO) build --release -p dtutil -p testservers --bins
	@DEMO_OUT=$(DEMO_OUT) bash demo.sh

# The test servers on loopback, for trying the docs' examples: prints the exports to
# paste (CA file, logins, Azure endpoint and key, shares); Ctrl-C stops them.
servers:
	@bash scripts/test-servers.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Windows and macOS are compiled here, not run: clippy (a full type check) for each target,
# every workspace crate and target. aws-lc-sys and ring (rustls's crypto) compile C for the
# target in their build scripts; zig, through cargo-zigbuild (PyPI, .ci/install-test-deps),
# is that C compiler, with its own MinGW and macOS headers. Nothing is linked.
CHECK_TARGETS := x86_64-pc-windows-gnu x86_64-apple-darwin
CHECK_TARGETS_DIR ?= $(CURDIR)/target/cross

check-targets:
	@command -v cargo-zigbuild >/dev/null || { echo "cargo-zigbuild is not installed: run .ci/install-test-deps (pip install cargo-zigbuild)"; exit 1; }
	@for t in $(CHECK_TARGETS); do echo "== check-targets $$t"; \
	  CARGO_TARGET_DIR=$(CHECK_TARGETS_DIR) cargo-zigbuild clippy --quiet --workspace --all-targets --target $$t -- -D warnings || exit 1; \
	done

unit:
	$(CARGO) test --workspace

# Test servers proven with clients we did not write (pytds, FreeTDS tsql, Azure SDKs, and
# tsql's Kerberos login against a real KDC).
proofs:
	bash crates/testservers/tests/clients/run.sh
	bash crates/testservers/tests/clients/run-azfiles.sh
	bash crates/testservers/tests/clients/run-adf.sh
	bash crates/testservers/tests/clients/run-kerberos.sh

# What the proofs and lint need beyond cargo (pip/apt/cargo install; silent when present).
test-deps:
	@bash .ci/install-test-deps

test: test-deps
	$(MAKE) --no-print-directory lint check-targets unit proofs fuzz-smoke

bench: build
	$(CARGO) run --release --example bench
	$(CARGO) run --release --example bench_batch
	$(CARGO) run --release --example bench_assess

# dtutil assess over 2,000 packages in one run against a loop of single runs.
bench-assess: build
	$(CARGO) run --release --example bench_assess

# dtutil batch against a shell loop of single dtutil runs (directory, msdb, Azure Files).
bench-batch: build
	$(CARGO) run --release --example bench_batch

clean:
	rm -rf $(DEMO_OUT)
	$(CARGO) clean

# Fuzzing (cargo fuzz, libFuzzer; see docs/reliability.md). The fuzz crate is its own
# workspace; stable Rust runs it with RUSTC_BOOTSTRAP=1. Corpora are generated into
# fuzz/corpus (not committed) from fixtures/source and dtutil's own output.
FUZZ_TARGETS := cli store_config project encrypted_data package xml_tokens
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 12
FUZZ_ENV := RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(or $(FUZZ_TARGET_DIR),$(CURDIR)/fuzz/target)

fuzz-seed:
	@command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: run .ci/install-test-deps (cargo install cargo-fuzz --locked)"; exit 1; }
	cd fuzz && ./seed.sh

# Each target for FUZZ_SECONDS, one after another (one core each).
fuzz: fuzz-seed
	cd fuzz && $(FUZZ_ENV) $(CARGO) fuzz build -O
	@for t in $(FUZZ_TARGETS); do echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  (cd fuzz && $(FUZZ_ENV) $(CARGO) fuzz run -O $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -rss_limit_mb=2048 2>&1 \
	    | grep -E "^(#[0-9]+ +DONE|Done|stat::number_of_executed_units|SUMMARY|.*panicked)") || exit 1; done

# CI smoke: about a minute in all; a crash fails the build (the input is in fuzz/artifacts/).
fuzz-smoke: fuzz-seed
	cd fuzz && $(FUZZ_ENV) $(CARGO) fuzz build -O
	@for t in $(FUZZ_TARGETS); do \
	  (cd fuzz && $(FUZZ_ENV) $(CARGO) fuzz run -O $$t corpus/$$t -- -max_total_time=$(FUZZ_SMOKE_SECONDS) -rss_limit_mb=2048 >/tmp/dtutil-fuzz-$$t.log 2>&1) \
	    || { tail -n 40 /tmp/dtutil-fuzz-$$t.log; echo "fuzz-smoke: $$t crashed"; exit 1; }; \
	  echo "fuzz-smoke $$t: $$(grep -oE "^#[0-9]+" /tmp/dtutil-fuzz-$$t.log | tail -n 1 | tr -d '#') runs, no crash"; done

# The crash-consistency test with more kills than make test's default (210).
CRASH_KILLS ?= 1000
crash-test:
	DTUTIL_CRASH_KILLS=$(CRASH_KILLS) $(CARGO) test --test crash_consistency -- --nocapture
