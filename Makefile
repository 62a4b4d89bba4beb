# Two entry points a fresh machine needs: `make run` and `make test`.
# Each creates (or refreshes) the local virtualenv from pyproject.toml first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test lint migrate clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/followup-bot serve

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

migrate: $(BIN)/.installed
	$(BIN)/followup-bot migrate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
