# Frontdoor: `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo
DEMO_CHILDREN ?= 5000

.PHONY: install run test test-fast bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# SDV needs torch; this pin resolves to the local CPU build (any other version downloads gigabytes).
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The main job, end to end as far as the project goes: a fake council's Annex A workbook,
# ingested (validated, pseudonymised), and its journey map printed.
run: $(STAMP)
	@mkdir -p $(DEMO)
	FRONTDOOR_KEY_FILE=$(DEMO)/pseudonym.key $(BIN)/frontdoor fixtures --children $(DEMO_CHILDREN) --seed 1 --out $(DEMO)/council
	FRONTDOOR_KEY_FILE=$(DEMO)/pseudonym.key $(BIN)/frontdoor ingest $(DEMO)/council --out $(DEMO)/dataset --overwrite
	$(BIN)/frontdoor journeys $(DEMO)/dataset

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
