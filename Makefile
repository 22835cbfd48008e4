# The two commands a newcomer needs: `make run` and `make test`. Each installs what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data
STAMP := $(VENV)/.installed

.PHONY: run test lint bench fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Hộp Thư needs Python 3.11 or newer (set PYTHON=python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Initialise the embedded data folder once (prints the first administrator's sign-in), then serve.
run: $(STAMP)
	@test -f $(DATA)/hopthu.toml || $(BIN)/hopthu --data $(DATA) init --web-url http://127.0.0.1:8080
	$(BIN)/hopthu --data $(DATA) serve

# The static checks, which `make test` runs first: lint rules, formatting, and types (mypy reads its
# scope and its strict rooms from pyproject.toml's [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/ruff format --check src tests bench fuzz
	$(BIN)/mypy

test: lint
	.ci/system-packages
	$(BIN)/pytest -q -n auto --dist worksteal --durations=25

bench: $(STAMP)
	$(BIN)/python bench/deliver.py

# The fuzzing harnesses (fuzz/, see docs/security.md): FUZZ_INPUTS inputs in all (default 1,000,000,
# about 20 minutes on 2 cores), FUZZ_WORKERS processes. Not part of `make test`. Findings go to
# fuzz/findings/ and make the command fail.
FUZZ_INPUTS ?= 1000000
FUZZ_WORKERS ?= 2
fuzz: $(STAMP)
	FUZZ_INPUTS=$(FUZZ_INPUTS) FUZZ_WORKERS=$(FUZZ_WORKERS) $(BIN)/python -m fuzz

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
