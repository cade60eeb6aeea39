# voicefleet — every target installs what it needs into .venv / node_modules from this repo's own files.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The upstream test environment: upstream CosyVoice's real code at the pinned commit, from the instance runtime lock.
UPVENV := .venv-upstream
UPBIN := $(UPVENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: demo test rehearse install upstream-env lock browser lint typecheck synth estimate serve bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch==2.13.0 first, the CPU build: this machine's pip finds it in /opt/wheels; elsewhere set
# TORCH_INDEX=https://download.pytorch.org/whl/cpu (a plain `torch` from PyPI pulls GBs of CUDA packages).
TORCH_INDEX ?=
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# checkov in a venv of its own: its exact pins (boto3==1.35.49, ...) conflict with this project's (see pyproject.toml).
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: pyproject.toml
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/pip install -q --group checkov
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed $(CHECKOV_VENV)/.installed

# Upstream CosyVoice (the commit instances run; $$COSYVOICE_SRC, else ../shared/vendor's tarball, else GitHub) in a
# venv built from runtime/instance.lock, with this project's console scripts. About 4 minutes and 6 GB the first time.
$(UPVENV)/.installed: runtime/instance.lock runtime/upstream.toml runtime/upstream_env.py pyproject.toml | $(VENV)/.installed
	$(BIN)/python runtime/upstream_env.py --venv $(UPVENV)
	touch $@

upstream-env: $(UPVENV)/.installed

# Re-resolve the instance runtime lock (needs PyPI): after changing pyproject's runtime deps or the upstream pin.
lock: $(VENV)/.installed
	$(BIN)/python runtime/lock.py

# Headless Chromium for the web-page test (Debian's package; the test skips, saying why, where none can be installed).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }) \
	      || echo "note: could not install chromium; the browser test will be skipped"; \
	  else echo "note: chromium not found (install Debian's 'chromium' as root); the browser test will be skipped"; fi; }

# The main job on embedded defaults: price every environment, then synthesize every environment.
demo: install
	$(BIN)/cost-estimate
	$(BIN)/python app.py
	@echo "templates:"; ls -1 cdk.out/*.template.json

# The whole test suite (unit, moto-on-loopback, real uvicorn, CDK assertions + cdk-nag + cfn-lint + checkov, browser),
# then the upstream suite (tests/upstream: CosyVoice3 on upstream's real code and a tiny random checkpoint) in its venv,
# then the boot rehearsal (tests/boot: the image build and every environment's real user data in a sandbox, ending
# with the service its unit starts answering a synthesis; needs root for mount namespaces, say why and fail where
# REQUIRE_REHEARSAL=1 and it cannot run). With JUNIT_DIR set (CI), each run writes a JUnit report there.
JUNIT_DIR ?=
test: install browser upstream-env
	$(BIN)/python -m pytest $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/main.xml)
	$(UPBIN)/python -m pytest tests/upstream --confcutdir=tests/upstream $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/upstream.xml)
	$(MAKE) rehearse

# The boot rehearsal alone (about 10 minutes on a shared 2-core machine; its step timings are printed at the end).
rehearse: upstream-env
	$(UPBIN)/python -m pytest tests/boot --confcutdir=tests/boot -rs $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/boot.xml)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

synth: install
	npx aws-cdk synth --quiet

estimate: install
	$(BIN)/cost-estimate

serve: install
	$(BIN)/tts-serve --engine espeak --host 127.0.0.1 --port 8000

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .voicefleet/tiny-cosyvoice3
