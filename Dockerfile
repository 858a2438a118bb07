# The API image, in two stages: wheels of the locked dependency versions and of the project
# are built and installed into a virtual environment, which alone moves on to a slim runtime
# (no compilers, no pip cache, no sources) run by an unprivileged user.
#   Build: docker build -t itube .      Run and compose: see docs/operations.md

# -- build ---------------------------------------------------------------------------------
FROM python:3.11-slim AS build
# Lets `make image-test` remove this stage's image afterwards.
LABEL itube.stage=build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# A current pip builds the dependencies published only as source (PEP 517).
RUN python -m venv /opt/itube && /opt/itube/bin/pip install --quiet --upgrade pip

# Dependencies first, pinned by the lock file, so code changes reuse this layer. The
# placeholder packages only let pip read the dependency list; their wheel is thrown away.
COPY requirements.lock pyproject.toml README.md ./
RUN mkdir core plugins && touch core/__init__.py plugins/__init__.py \
    && /opt/itube/bin/pip wheel --wheel-dir /wheels -c requirements.lock . \
    && rm /wheels/itube-*.whl \
    && rm -rf core plugins build *.egg-info

# The project itself, then everything installed from the wheels alone.
COPY core ./core
COPY plugins ./plugins
RUN /opt/itube/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/itube/bin/pip install --no-index --find-links /wheels itube \
    && /opt/itube/bin/python -c "import core, plugins.video; print('itube', core.__version__)"

# -- runtime -------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/itube/bin:$PATH \
    ITUBE_CONFIG=config/production.toml

RUN useradd --system --no-create-home --uid 10001 itube
WORKDIR /app
COPY --from=build /opt/itube /opt/itube
COPY config ./config

USER 10001:10001
EXPOSE 8000
# `itube serve` stops gracefully on SIGTERM: it ends the requests in flight, then exits 0.
STOPSIGNAL SIGTERM
# /healthz on the port [server] listens on (ITUBE__SERVER__PORT overrides the file's).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ITUBE__SERVER__PORT', '8000') + '/healthz', timeout=2)"

# Host, port and workers come from [server] (ITUBE__SERVER__WORKERS, ..._PORT override
# them); migrations run separately, once per release: `itube migrate`.
CMD ["itube", "serve", "--config", "config/production.toml"]
