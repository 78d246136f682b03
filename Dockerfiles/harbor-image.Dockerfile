# The harbor-image Concourse resource type, with the shiplane CLI for the meta pipeline's render task.
#
#   buildah bud -f Dockerfiles/harbor-image.Dockerfile -t harbor-image .        (or docker build)
#
# BASE must be a Debian bookworm image with python3 and python3-venv (python:3.11-slim-bookworm qualifies;
# the tests build one with debootstrap because there is no Docker Hub on CI).
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY resources/ resources/
COPY generator/ generator/
COPY templates/ templates/
# One venv holding the package and its dependencies; compiled bytecode only, no pip caches.
RUN python3 -m venv /opt/shiplane \
 && /opt/shiplane/bin/pip install --no-cache-dir --disable-pip-version-check --quiet . \
 && /opt/shiplane/bin/pip uninstall --yes --quiet pip setuptools wheel \
 && find /opt/shiplane -depth -name '__pycache__' -type d -exec rm -rf {} + \
 # shiplane validates manifests against the strict schemas only; the lax copies are half the package's size.
 && find /opt/shiplane/lib -path '*kubernetes_validate/kubernetes-json-schema/*' -maxdepth 7 -type d \
      -name 'v*-local' -prune -exec rm -rf {} + \
 && /opt/shiplane/bin/python -m compileall -q -j 0 /opt/shiplane/lib

FROM ${BASE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="harbor-image" \
      org.opencontainers.image.description="Concourse resource type for Harbor images with vulnerability-scan gating; ships the shiplane CLI" \
      org.opencontainers.image.source="https://github.com/shiplane/shiplane" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# skopeo moves images, umoci unpacks them; ca-certificates so /etc/ssl/certs (which Concourse replaces with the
# worker's certificates) is where every TLS client looks. netavark and gpg are named only to satisfy skopeo's
# dependencies with the smallest packages: containers-common wants a network stack (skopeo never uses one;
# the default, containernetworking-plugins, is 45 MB) and gpgme wants gnupg (gpg alone is enough).
# DL3008 (pin apt versions) is ignored on purpose: a Debian suite keeps only the newest build of each package, so
# pinned versions stop installing after the next security update; the base image's digest is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      skopeo umoci ca-certificates netavark gpg \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /usr/share/doc/* /usr/share/man/*
COPY --from=build /opt/shiplane /opt/shiplane
RUN mkdir -p /opt/resource \
 && ln -s /opt/shiplane/bin/harbor-image-check /opt/resource/check \
 && ln -s /opt/shiplane/bin/harbor-image-in /opt/resource/in \
 && ln -s /opt/shiplane/bin/harbor-image-out /opt/resource/out \
 && test -x /opt/resource/check && test -x /opt/resource/in && test -x /opt/resource/out \
 && test -x /opt/shiplane/bin/shiplane
ENV PATH=/opt/shiplane/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /
