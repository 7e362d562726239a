# syntax=docker/dockerfile:1
# tickscope image: worker (default), dashboard, feed — one image, the command picks the role.
#
#   docker build -t tickscope:0.1.0 .
#   docker run --rm -e TICKSCOPE_KAFKA_BOOTSTRAP=kafka:9092 tickscope:0.1.0            # worker
#   docker run --rm -p 8050:8050 -e TICKSCOPE_DASHBOARD_HOST=0.0.0.0 \
#       -e TICKSCOPE_DASHBOARD_TOKEN=... tickscope:0.1.0 tickscope dashboard
#
# Every setting comes from TICKSCOPE_* environment variables (tickscope/settings.py).

ARG PYTHON_IMAGE=python:3.11-slim
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# ---------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VERSION
ARG TORCH_INDEX_URL

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Compilers only for the rare dependency without a wheel; they stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch first, CPU-only build from the PyTorch index (its own cached layer; the
# default PyPI wheel would pull several GB of CUDA libraries). The project pins
# torch==2.13.0, which the local version 2.13.0+cpu satisfies, so the
# `pip install .` below keeps it.
RUN pip install --upgrade pip setuptools wheel \
 && pip install --index-url ${TORCH_INDEX_URL} torch==${TORCH_VERSION}

WORKDIR /src
# The build context is whitelisted by .dockerignore (package sources, model
# artifacts, pyproject.toml, README.md).
COPY . /src
RUN pip install . \
 && python -c "import torch, tickscope.streams.worker, tickscope.models; print('torch', torch.__version__)"

# -------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="tickscope" \
      org.opencontainers.image.description="Real-time streaming explanations for market signals" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TICKSCOPE_DATA_DIR=/data \
    HOME=/home/tickscope

# Non-root user with a fixed uid/gid so Kubernetes can check runAsNonRoot and
# volumes can be chowned predictably.
RUN groupadd --system --gid 10001 tickscope \
 && useradd --system --uid 10001 --gid tickscope --create-home --home-dir /home/tickscope \
        --shell /usr/sbin/nologin tickscope \
 && mkdir -p /data /keys \
 && chown tickscope:tickscope /data /keys

COPY --from=build /opt/venv /opt/venv

WORKDIR /data
USER 10001:10001

# 9108: worker /metrics (TICKSCOPE_METRICS_PORT); 8050: dashboard (TICKSCOPE_DASHBOARD_PORT)
EXPOSE 9108 8050
VOLUME ["/data"]

CMD ["tickscope", "worker"]
