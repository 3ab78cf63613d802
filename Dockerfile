# syntax=docker/dockerfile:1
#
# KTP-el platform image: one image, every role (`ektp migrate`, `ektp serve <service>`,
# `ektp print-agent ...`). Build:  docker build -t ektp:latest .
#
# Stage 1 builds the project and its dependencies into a virtualenv at /opt/venv (compilers
# are allowed here). Stage 2 copies only that virtualenv onto a clean slim image: no compiler,
# no pip cache, no source tree, no build tools.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Only for dependencies without a binary wheel for this platform; never reaches the final image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install --upgrade pip wheel
WORKDIR /src
# The context holds only the package sources (.dockerignore is an allow-list): pyproject.toml,
# README.md (the package's readme), ektp/, shared/, services/ (with the region table and the
# alembic migrations as package data) and console/ if the project has one.
COPY . .
# Build a wheel of the project, install it (non-editable) with its dependencies into the venv,
# then drop the packaging tools: the runtime never installs anything.
RUN pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && pip install /tmp/wheels/*.whl \
 && ektp --help >/dev/null \
 && pip uninstall -y pip wheel setuptools \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="ektp" \
      org.opencontainers.image.description="KTP-el issuance platform (enrollment, dedup, print, certificate, print agent)" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 ektp \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin ektp \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ektp /var/lib/ektp/cards
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EKTP_ENV=production \
    EKTP_HEALTHCHECK_URL=http://127.0.0.1:8000/healthz
WORKDIR /tmp
USER 10001:10001
# 8000: every service (/healthz, /readyz, /metrics); 9100: print agent health.
EXPOSE 8000 9100
# A print agent's rendered cards (`--output-dir /var/lib/ektp/cards`): a volume mounted here
# takes this directory's owner, so the agent can write to it.
# No curl in the image: the health check is a few lines of Python. A print agent sets
# EKTP_HEALTHCHECK_URL=http://127.0.0.1:9100/healthz (docker-compose.yml does).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request as u; sys.exit(0 if u.urlopen(os.environ['EKTP_HEALTHCHECK_URL'], timeout=4).status == 200 else 1)"]
ENTRYPOINT ["ektp"]
CMD ["serve", "enrollment", "--host", "0.0.0.0", "--port", "8000"]
