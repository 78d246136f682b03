# The spinnaker-pipeline Concourse resource type: trigger Spinnaker pipelines with digest-pinned images and watch
# their executions through Gate (docs/spinnaker-pipeline.md).
#
#   buildah bud -f Dockerfiles/spinnaker-pipeline.Dockerfile -t spinnaker-pipeline .        (or docker build)
#
# The resource needs only Python's standard library (resources/spinnaker_pipeline, spinnaker_gate, shiplane_http
# and the shared harbor_image helpers), so the package is installed without its generator dependencies and no
# system package is added: the image is the base plus a few hundred kilobytes.
# BASE must be a Debian bookworm image with python3, python3-venv and ca-certificates (python:3.11-slim-bookworm
# qualifies; tests/imagebuild.py makes one with debootstrap because there is no Docker Hub on CI).
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY resources/ resources/
COPY generator/ generator/
COPY templates/ templates/
RUN python3 -m venv /opt/shiplane \
 && /opt/shiplane/bin/pip install --no-cache-dir --disable-pip-version-check --quiet --no-deps . \
 && /opt/shiplane/bin/pip uninstall --yes --quiet pip setuptools wheel \
 && find /opt/shiplane -depth -name '__pycache__' -type d -exec rm -rf {} + \
 && /opt/shiplane/bin/python -m compileall -q -j 0 /opt/shiplane/lib

FROM ${BASE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="spinnaker-pipeline" \
      org.opencontainers.image.description="Concourse resource type: trigger Spinnaker pipelines by digest and watch their executions" \
      org.opencontainers.image.source="https://github.com/shiplane/shiplane" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/shiplane /opt/shiplane
RUN mkdir -p /opt/resource \
 && ln -s /opt/shiplane/bin/spinnaker-pipeline-check /opt/resource/check \
 && ln -s /opt/shiplane/bin/spinnaker-pipeline-in /opt/resource/in \
 && ln -s /opt/shiplane/bin/spinnaker-pipeline-out /opt/resource/out \
 && test -x /opt/resource/check && test -x /opt/resource/in && test -x /opt/resource/out
ENV PATH=/opt/shiplane/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /
