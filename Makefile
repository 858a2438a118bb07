# The one entry point for people and CI. Every target bootstraps its own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
CONFIG ?= config/default.toml

.PHONY: serve test fuzz lint migrate bench wrk-ready lock clean image-test docker-ready browser-ready

$(STAMP): pyproject.toml requirements.lock
	@echo "Installing the dependencies into $(VENV) (first run only, about a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/itube serve --config $(CONFIG) --host $(HOST) --port $(PORT)

test: $(STAMP) browser-ready
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
	$(BIN)/mypy core plugins bench

migrate: $(STAMP)
	$(BIN)/itube migrate --config $(CONFIG) forwards

# Every benchmark in bench/, or those named: `make bench BENCH_ARGS="load --quick"` tries the
# load table in a few minutes; the full one (1,000,000 videos, 4 rounds) writes
# docs/benchmarks.md and takes about 25 minutes; `BENCH_ARGS=library` (about 11 minutes),
# `uploads` (about 5), `events` (about 2) and `playback` (about 5) write
# docs/benchmarks-<name>.md. Installs wrk when it is missing (needs root).
bench: $(STAMP) wrk-ready
	$(BIN)/python -m bench $(BENCH_ARGS)

wrk-ready:
	@command -v wrk >/dev/null || (echo "Installing wrk (apt-get install wrk)" \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

# Headless Chromium and its driver for the demo page's browser test (tests/demo), and
# ffmpeg for the example transcoder's HLS ladder (tests/video/playback), Debian's packages;
# installed when missing (needs root).
browser-ready:
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver && test -x /usr/bin/ffmpeg \
		|| (echo "Installing Chromium and ffmpeg (apt-get install chromium chromium-driver ffmpeg)" \
			&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq chromium chromium-driver ffmpeg >/dev/null)

# Build the API image and run it for real (tests/image): migrate, the whole workflow through
# the container, its HEALTHCHECK, non-root, a clean stop on SIGTERM, and the compose file
# validated. Uses the machine's PostgreSQL and Redis and a moto server; the image is removed
# afterwards. Installs Docker when it is missing (needs root), see docs/operations.md.
IMAGE_TEST_TAG ?= itube:image-test
LOCAL_BASE_IMAGE ?= ../shared/tools/local-base-image.sh
image-test: $(STAMP) docker-ready
	docker build --network host -t $(IMAGE_TEST_TAG) .
	ITUBE_IMAGE_TEST=$(IMAGE_TEST_TAG) $(BIN)/python -m pytest tests/image $(PYTEST_ARGS); \
		status=$$?; docker image rm --force $(IMAGE_TEST_TAG) >/dev/null; \
		docker image prune --force --filter label=itube.stage=build >/dev/null; exit $$status

# Docker with the python:3.11-slim base image (pulled, or built locally where no registry
# is reachable) and a compose CLI to validate docker-compose.yml.
docker-ready:
	@docker info >/dev/null 2>&1 && docker image inspect python:3.11-slim >/dev/null 2>&1 \
		|| docker pull python:3.11-slim 2>/dev/null || $(LOCAL_BASE_IMAGE)
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq docker-compose >/dev/null)

# Re-resolve the locked versions after changing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip setuptools
	.lock-venv/bin/python -m pip install --quiet ".[dev]"
	.lock-venv/bin/python -m pip freeze --exclude itube > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache itube.db
