# dtutil, rebuilt. `make demo` shows the main job; `make test` runs every test.
CARGO ?= cargo
BIN := target/release/dtutil
DEMO_OUT := demo-out
export DEMO_PASSWORD ?= demo-pass
export NEW_PASSWORD ?= n3w-Passw0rd

.PHONY: all build demo test lint unit proofs bench bench-batch clean

all: build

build:
	$(CARGO) build --release --bin dtutil

# The bundled samples in fixtures/source were exported from msdb at ServerStorage
# (level 5), secrets in the clear. The demo protects them with a password (level 2),
# re-keys them to EncryptAllWithPassword with AES-256 (level 3), strips the secrets
# for source control (level 0), and inspects each step. Passwords come from the
# environment, never the command line.
demo: build
	@rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)/level2 $(DEMO_OUT)/level3 $(DEMO_OUT)/level0
	@for f in fixtures/source/*.dtsx; do n=$$(basename $$f); \
	  $(BIN) /FILE "$$f" /ENCRYPT "FILE;$(DEMO_OUT)/level2/$$n;2;env:DEMO_PASSWORD" | tail -n 1 | sed "s|^|level 2  $$n: |" || exit 1; \
	  $(BIN) /FILE "$(DEMO_OUT)/level2/$$n" /Decrypt env:DEMO_PASSWORD /ENCRYPT "FILE;$(DEMO_OUT)/level3/$$n;3;env:NEW_PASSWORD" --algorithm aes256 | tail -n 1 | sed "s|^|level 3  $$n: |" || exit 1; \
	  $(BIN) /FILE "$(DEMO_OUT)/level3/$$n" /Decrypt env:NEW_PASSWORD /ENCRYPT "FILE;$(DEMO_OUT)/level0/$$n;0" | tail -n 1 | sed "s|^|level 0  $$n: |" || exit 1; \
	done
	@echo; echo "--- dtutil inspect (never prints values):"
	@$(BIN) inspect $(DEMO_OUT)/level2/*.dtsx $(DEMO_OUT)/level0/*.dtsx | tail -n +5
	@$(BIN) inspect --password env:NEW_PASSWORD $(DEMO_OUT)/level3/*.dtsx | tail -n +5

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

# Test servers proven with clients we did not write (pytds, FreeTDS tsql, Azure SDK).
proofs:
	bash crates/testservers/tests/clients/run.sh
	bash crates/testservers/tests/clients/run-azfiles.sh

test: lint unit proofs

bench: build
	$(CARGO) run --release --example bench
	$(CARGO) run --release --example bench_batch

# dtutil batch against a shell loop of single dtutil runs (directory, msdb, Azure Files).
bench-batch: build
	$(CARGO) run --release --example bench_batch

clean:
	rm -rf $(DEMO_OUT)
	$(CARGO) clean
