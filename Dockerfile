# ecs-reconciler: one image for the GitOps controller (`run`) and the Kubernetes operator
# (`operator`); the command chooses. Build with `make image`; docs/release.md explains the release.
#
# BASE_IMAGE is Debian trixie-slim (the multi-architecture index) pinned by digest: Debian's
# Python 3.13 and git, with Debian's security updates. Where no registry is reachable,
# `make image-base` builds the same distribution from Debian's mirror (mmdebstrap) and
# `make image-test` passes it here as --build-arg BASE_IMAGE. Both stages use the one base, so the
# virtual environment built in the first runs on the identical Python in the second.
ARG BASE_IMAGE=docker.io/library/debian:trixie-slim@sha256:d7e12182ce18b85b93007c1dedf31f2d29e01ccf3182cc4017c709b6259bc132

# -- build: every wheel (ours and our dependencies), then a pip-less virtual environment ---------
FROM ${BASE_IMAGE} AS build

# Package versions come with the pinned base's Debian release (trixie and its security updates).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler

# Optional extras to install, e.g. --build-arg EXTRAS=local for the embedded endpoint (moto: about
# 200 MB more), so the image can be tried without AWS (`--local plan`). The release image has none.
ARG EXTRAS=
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /wheels ".${EXTRAS:+[${EXTRAS}]}" \
 && python3 -m venv --without-pip /opt/ecs-reconciler \
 && /opt/build/bin/pip --python /opt/ecs-reconciler/bin/python install --no-cache-dir --no-index \
      --find-links /wheels "ecs-reconciler${EXTRAS:+[${EXTRAS}]}"

# -- runtime: Python, git for the git source, the virtual environment; no compilers, no pip -------
FROM ${BASE_IMAGE}

ARG VERSION=unknown
ARG REVISION=unknown
ARG SOURCE=https://github.com/ecs-reconciler/ecs-reconciler
LABEL org.opencontainers.image.title="ecs-reconciler" \
      org.opencontainers.image.description="GitOps reconciler for Amazon ECS: controller and Kubernetes operator" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# The numeric user the chart's securityContext runs as (helm/values.yaml); /var/cache/ecs-reconciler
# is its place for `run --cache-dir` and `--state-file`, a volume when the root is read-only.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 git ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 ecs-reconciler \
 && useradd --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin ecs-reconciler \
 && install -d -o 10001 -g 10001 -m 0750 /var/cache/ecs-reconciler

COPY --from=build /opt/ecs-reconciler /opt/ecs-reconciler

# The root filesystem may be read-only: bytecode was compiled at install time, and the only
# writable path needed is TMPDIR (the controller's git checkouts), an emptyDir in the chart.
ENV PATH=/opt/ecs-reconciler/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp

USER 10001:10001
# Exec form: no shell between the runtime and the process. Health is the probes' job (/healthz).
ENTRYPOINT ["/opt/ecs-reconciler/bin/ecs-reconciler"]
CMD ["--help"]
