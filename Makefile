# Frontdoor: `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo
DEMO_CHILDREN ?= 5000
DEMO_PORT ?= 8000
VIEWER_PORT ?= 5006

.PHONY: install run test test-fast bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# SDV needs torch; this pin resolves to the local CPU build (any other version downloads gigabytes).
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The main job, end to end: the service on embedded defaults (SQLite, in-process jobs, a fresh data
# directory), demo users, a fake council uploaded, trained, released, approved twice and published.
run: $(STAMP)
	$(BIN)/frontdoor demo --data-dir $(DEMO)/service-data --children $(DEMO_CHILDREN) --port $(DEMO_PORT) \
		--viewer-port $(VIEWER_PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

lint: $(STAMP)
	$(BIN)/ruff check synth service viewer fixtures tests

clean:
	rm -rf $(DEMO) .pytest_cache .hypothesis
