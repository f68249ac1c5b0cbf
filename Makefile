# Two commands on a fresh machine: `make demo` (the main job on the local sandbox) and
# `make test` (lint, types, tests). Both create the virtualenv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export SANDBOX_SCIM_TOKEN ?= sandbox-demo-token

.PHONY: install demo test lint

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

# Start the sandbox target, then: validate, test the connection (doctor), plan, apply, and
# plan again (expecting no changes).
demo: $(STAMP)
	@$(BIN)/scimrec sandbox --port 8000 & pid=$$!; trap "kill $$pid 2>/dev/null" EXIT; \
	for i in $$(seq 100); do \
	  $(PY) -c 'import socket; socket.create_connection(("127.0.0.1", 8000), 0.2)' 2>/dev/null && break; \
	  sleep 0.1; \
	done; \
	set -e; \
	echo '$$ scimrec validate specs'; $(BIN)/scimrec validate specs; \
	echo; echo '$$ scimrec doctor specs --target sandbox   # test connection, and what the target can do'; \
	$(BIN)/scimrec doctor specs --target sandbox --log-level warning; \
	echo; echo '$$ scimrec plan specs --target sandbox'; \
	$(BIN)/scimrec plan specs --target sandbox --log-level warning; \
	echo; echo '$$ scimrec apply specs --target sandbox --auto-approve'; \
	$(BIN)/scimrec apply specs --target sandbox --auto-approve --log-level warning; \
	echo; echo '$$ scimrec plan specs --target sandbox --detailed-exitcode'; \
	$(BIN)/scimrec plan specs --target sandbox --detailed-exitcode --log-level warning

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q
