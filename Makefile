# The course's commands. Each one sets up .venv first when it is missing or stale.
# nbgrader finds alembic, and Jupyter its kernel, through PATH: put the venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROXY := hub/node_modules/.bin/configurable-http-proxy
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test generate screenshots benchmark clean

## demo: regenerate the derived notebooks, then grade the example submissions into demo/, with a gradebook
## of its own there: a scratch run, which leaves the class's gradebook.db, graded/, feedback/ and autograded/ alone
demo: $(VENV)/.installed
	$(PY) -m autograder generate
	mkdir -p demo
	$(PY) -m autograder grade examples/submitted --out demo --db sqlite:///demo/gradebook.db

## test: every test, the nbval run of the training notebook and ruff (the hub's tests need root: sudo make test)
test: $(VENV)/.installed $(PROXY)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

## generate: rewrite release/, solutions/, notebooks/ and examples/ from source/
generate: $(VENV)/.installed
	$(PY) -m autograder generate

## screenshots: the browser tests (the student's, with the course's full training, and the hub's, as root), rewriting
## the README's pictures in docs/screenshots/
screenshots: $(VENV)/.installed $(PROXY)
	$(PY) -m pytest -n0 tests/test_browser.py tests/test_hub.py --full-training --screenshots docs/screenshots

benchmark: $(VENV)/.installed
	$(PY) benchmarks/grading_throughput.py

$(VENV)/.installed: requirements.txt source/realnvp/requirements.txt hub/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r hub/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# JupyterHub's proxy, pinned in hub/package-lock.json, for the hub's tests
$(PROXY): hub/package.json hub/package-lock.json
	npm ci --prefix hub --no-audit --no-fund --loglevel=error
	touch $@

## clean: remove what the demo and the build made; a class's results (gradebook.db, submitted/, autograded/,
## feedback/, graded/) are never touched
clean:
	rm -rf demo .pytest_cache .ruff_cache *.egg-info hub/node_modules
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
