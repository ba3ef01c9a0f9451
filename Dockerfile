# syntax=docker/dockerfile:1
# packages-api: build with uv from the lock file, run on a slim Python without uv or dev tools.
# After uv's Docker guide (https://docs.astral.sh/uv/guides/integration/docker/): both stages
# use the same Python image, so the virtualenv's interpreter path is valid in the second.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# The uv that wrote uv.lock (0.13): an older one may not read it.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# ---- build: dependencies in their own cached layer, then the project --------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /bin/uv
# Bytecode compiled at build time (the runtime user cannot write __pycache__); packages
# copied out of the cache mount rather than linked to it; the image's Python, never a
# downloaded one.
# uv trusts the image's CA bundle, which a build behind a TLS-intercepting proxy replaces for
# the uv steps only with an optional secret (`--secret id=ca-certificates,src=<host bundle>`,
# as scripts/image-smoke does): the host's CAs reach the index, never a layer of the image.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /app
# Only uv.lock and pyproject.toml reach this layer, so it is rebuilt only when they change.
# Bind targets are absolute: buildah (podman build) refuses relative ones.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca-certificates,target=/etc/ssl/certs/ca-certificates.crt \
    --mount=type=bind,source=uv.lock,target=/app/uv.lock \
    --mount=type=bind,source=pyproject.toml,target=/app/pyproject.toml \
    uv sync --locked --no-install-project --no-dev
COPY . /app
# The project itself, installed in place: the migrations are read from /app/migrations.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca-certificates,target=/etc/ssl/certs/ca-certificates.crt \
    uv sync --locked --no-dev \
    && python -m compileall -q /app/app /app/migrations

# ---- runtime: slim, no uv, no compiler, a numeric non-root user ----------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="packages-api" \
      org.opencontainers.image.description="A package directory API, compatible with djangopackages.org API v4" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin app \
    && mkdir /data \
    && chown 10001:10001 /data
# Code and virtualenv stay root-owned, read-only to the service; only /data is writable.
COPY --from=build /app /app
WORKDIR /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite+aiosqlite:////data/packages.db
USER 10001:10001
EXPOSE 8000
# uvicorn stops gracefully on SIGTERM: in-flight requests finish, then it exits 0.
STOPSIGNAL SIGTERM
# No curl in the image: the standard library asks /healthz, which answers without the
# database (a database outage must not get the container restarted).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
# Migrates, then serves. MIGRATE_ON_START=false when migrations run as a separate job
# (`packages-api migrate`, same image).
CMD ["packages-api", "serve"]
