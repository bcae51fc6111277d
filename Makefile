# shrink: make install | test | bench | report | docs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

.PHONY: install test lint bench report docs clean chromium

install: $(STAMP)

# Re-install only when pyproject.toml changed (or the venv is missing).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser tests drive Debian's chromium (never a downloaded browser): installed here where
# apt-get and root (or password-less sudo) are available; elsewhere they are skipped, saying why
# (SHRINK_CHROMIUM=/path/to/chromium points them at another Chromium).
chromium:
	@if [ -n "$$SHRINK_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && { [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then \
		echo "make: installing Debian's chromium for the browser tests (apt-get install chromium)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "make: no chromium, and no apt-get with root or sudo to install it: the browser tests will be skipped"; \
	fi

lint: install
	$(BIN)/ruff check shrinkcli tests bench tools
	$(BIN)/ruff format --check shrinkcli tests bench tools
	$(BIN)/mypy shrinkcli

test: lint chromium
	$(BIN)/pytest

# Each benchmark rewrites its own section of docs/performance.md (bench/perfdoc.py) with what it
# printed and the machine it ran on.
# Bytecode compiled first, as an installed package has it (pip compiles a wheel's modules at
# install; an editable install never writes them where PYTHONDONTWRITEBYTECODE is set, and then
# every process would compile shrink's sources again and the figures would measure that).
bench: install
	@$(BIN)/python -m compileall -q shrinkcli
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# docs/commands.md: every command's --help (tests/test_docs.py fails when it is stale).
docs: install
	$(BIN)/python tools/commands_doc.py

report: install
	$(BIN)/shrink report scenarios/*.yaml -o report

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache report
