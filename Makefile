# shrink: make install | test | bench | report
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install test lint bench report clean

install: $(STAMP)

# Re-install only when pyproject.toml changed (or the venv is missing).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The report's browser test drives Debian's chromium (never a downloaded browser).
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "make: install chromium for the browser test" >&2; exit 1; }
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

lint: install
	$(BIN)/ruff check shrinkcli tests bench
	$(BIN)/mypy shrinkcli

test: lint $(CHROMIUM)
	$(BIN)/pytest

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

report: install
	$(BIN)/shrink report scenarios/*.yaml -o report

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache report
