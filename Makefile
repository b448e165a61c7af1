# dtutil, rebuilt. `make demo` shows the main job; `make test` runs every test.
CARGO ?= cargo
BIN := target/release/dtutil
DEMO_OUT := demo-out
export DEMO_PASSWORD ?= demo-pass
export NEW_PASSWORD ?= n3w-Passw0rd

.PHONY: all build demo test lint unit proofs bench clean

all: build

build:
	$(CARGO) build --release --bin dtutil

# Re-protects the bundled sample packages (exported from msdb at ServerStorage, with
# their secrets in the clear) to a password, re-keys them, then inspects the result.
demo: build
	@rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)
	@for f in fixtures/source/*.dtsx; do \
	  n=$$(basename $$f); \
	  $(BIN) /FILE "$$f" /ENCRYPT "FILE;$(DEMO_OUT)/$$n;2;env:DEMO_PASSWORD" /Q | tail -n 1 | sed "s|^|$$n: |" || exit 1; \
	done
	@echo "--- re-keyed to EncryptAllWithPassword (level 3), AES-256:"
	@for f in $(DEMO_OUT)/*.dtsx; do \
	  $(BIN) /FILE "$$f" /Decrypt env:DEMO_PASSWORD /ENCRYPT "FILE;$$f.level3;3;env:NEW_PASSWORD" --algorithm aes256 /Q | tail -n 1 || exit 1; \
	done
	@echo "--- inspect (never prints values):"
	@$(BIN) inspect $(DEMO_OUT)/*.dtsx | tail -n +5
	@$(BIN) inspect --password env:NEW_PASSWORD $(DEMO_OUT)/*.level3 | tail -n +5

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

clean:
	rm -rf $(DEMO_OUT)
	$(CARGO) clean
