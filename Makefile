# featurelock: `make demo` and `make test` bootstrap .venv from requirements.lock (exact, hashed pins).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= local
PROJECT ?= .
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast test-feast-universal image image-test deploy-test lint lock clean-data

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	FEATURELOCK_PROFILE=$(PROFILE) $(BIN)/featurelock demo --project $(PROJECT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The edit loop: engine unit tests on tiny synthetic projects (no real data, servers or subprocesses).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Feast's own test_universal_historical_retrieval.py against our stores; FEAST_SOURCES names Feast's
# sources (a git directory holding the commit the test names, or a checkout). .ci/run sets it when it can.
test-feast-universal: $(STAMP)
	FEATURELOCK_UNIVERSAL_SPARK=1 $(BIN)/python -m pytest -q -rs tests/training/test_feast_universal.py

# The container image featurelock:<version>, built offline and reproducibly with podman
# (deploy/build-image.sh; docs/deployment.md), and its check: the demo inside it gives the golden
# hash, and its service answers as the host's does.
image: $(STAMP)
	deploy/build-image.sh

image-test: image
	FEATURELOCK_IMAGE=featurelock:$$($(BIN)/python -c 'from featurelock.core.version import __version__; print(__version__)') \
		$(BIN)/python -m pytest -q -s -rs tests/image/test_image.py

# deploy/kubernetes.yaml played by podman against this machine's PostgreSQL and Redis (not in CI).
deploy-test: image
	FEATURELOCK_DEPLOY_TEST=1 FEATURELOCK_IMAGE=featurelock:$$($(BIN)/python -c 'from featurelock.core.version import __version__; print(__version__)') \
		$(BIN)/python -m pytest -q -rs tests/image/test_deploy.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Regenerate the lock from requirements.in (needs pip-tools; run by a developer, never by CI).
lock:
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock requirements.in

clean-data:
	rm -rf feature_repo/data
