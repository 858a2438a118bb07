# The one entry point for people and CI. Every target bootstraps its own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
CONFIG ?= config/default.toml

.PHONY: serve test fuzz lint migrate bench lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/itube serve --config $(CONFIG) --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The schema-driven fuzz passes of `make test` (tests/fuzz), much longer: examples per
# operation and pass, on both databases. docs/testing.md says how to read the figures.
FUZZ_EXAMPLES ?= 300
FUZZ_DATABASES ?= sqlite,postgres
fuzz: $(STAMP)
	ITUBE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ITUBE_FUZZ_DATABASES=$(FUZZ_DATABASES) \
		$(BIN)/python -m pytest tests/fuzz $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check core plugins tests bench
	$(BIN)/mypy core

migrate: $(STAMP)
	$(BIN)/itube migrate --config $(CONFIG) forwards

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Re-resolve the locked versions after changing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip setuptools
	.lock-venv/bin/python -m pip install --quiet ".[dev]"
	.lock-venv/bin/python -m pip freeze --exclude itube > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache itube.db
