# The API image: the locked dependency versions, the project, an unprivileged user.
# Build: docker build -t itube .      Run: see docs/operations.md
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ITUBE_CONFIG=config/production.toml

WORKDIR /app

# Dependencies first, pinned by the lock file, so code changes reuse this layer.
COPY requirements.lock pyproject.toml README.md ./
RUN mkdir core plugins && touch core/__init__.py plugins/__init__.py \
    && pip install -c requirements.lock . \
    && pip uninstall -y itube

COPY core ./core
COPY plugins ./plugins
COPY config ./config
RUN pip install --no-deps . && useradd --system --no-create-home --uid 10001 itube

USER itube
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

# Workers, host and port come from [server]; migrations run separately (`itube migrate`).
CMD ["itube", "serve", "--config", "config/production.toml"]
