# Two commands on a fresh machine: `make demo` (the main job on the local sandbox) and
# `make test` (lint, types, tests). Both create the virtualenv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export SANDBOX_SCIM_TOKEN ?= sandbox-demo-token
PORT ?= 8000

.PHONY: install demo test lint servers mutation lock

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

# Start the sandbox target, then: validate, test the connection (doctor), plan, apply, and
# plan again (expecting no changes). `make demo PORT=18000` serves the sandbox on another port
# and points a copy of specs/ at it. The demo goes on only once the sandbox it started says it
# is serving: a busy port stops it with the sandbox's error, instead of talking to whatever
# listens there.
demo: $(STAMP)
	@log=$$(mktemp); tmp=$$(mktemp -d); specs=specs; \
	$(BIN)/scimrec sandbox --port $(PORT) >$$log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; rm -rf $$log $$tmp' EXIT; \
	for i in $$(seq 300); do \
	  grep -q '^Serving a SCIM 2.0 sandbox' $$log && break; \
	  kill -0 $$pid 2>/dev/null || break; \
	  sleep 0.1; \
	done; \
	if ! kill -0 $$pid 2>/dev/null || ! grep -q '^Serving a SCIM 2.0 sandbox' $$log; then \
	  echo "make demo: the sandbox did not start on port $(PORT):" >&2; cat $$log >&2; exit 1; \
	fi; \
	if [ "$(PORT)" != 8000 ]; then \
	  specs=$$tmp/specs; cp -R specs $$specs; \
	  $(PY) -c 'import pathlib, sys; [f.write_text(f.read_text().replace("127.0.0.1:8000", "127.0.0.1:" + sys.argv[2])) for f in pathlib.Path(sys.argv[1]).rglob("*.yaml")]' $$specs $(PORT); \
	  echo "(specs/ copied to $$specs, pointed at port $(PORT))"; \
	fi; \
	set -e; \
	echo "\$$ scimrec validate $$specs"; $(BIN)/scimrec validate $$specs; \
	echo; echo "\$$ scimrec doctor $$specs --target sandbox   # test connection, and what the target can do"; \
	$(BIN)/scimrec doctor $$specs --target sandbox --log-level warning; \
	echo; echo "\$$ scimrec plan $$specs --target sandbox"; \
	$(BIN)/scimrec plan $$specs --target sandbox --log-level warning; \
	echo; echo "\$$ scimrec apply $$specs --target sandbox --auto-approve"; \
	$(BIN)/scimrec apply $$specs --target sandbox --auto-approve --log-level warning; \
	echo; echo "\$$ scimrec plan $$specs --target sandbox --detailed-exitcode"; \
	$(BIN)/scimrec plan $$specs --target sandbox --detailed-exitcode --log-level warning

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests
	$(BIN)/mypy

# Two end-to-end servers run on Node.js (Better Auth's SCIM plugin, and SCIMMY): their npm
# packages, pinned by package-lock.json, go into git-ignored node_modules/ (idempotent).
# Canaille gets a git-ignored virtualenv of its own (its pinned set cannot share ours).
servers:
	bash tests/servers/better_auth_scim/install.sh
	bash tests/servers/scimmy/install.sh
	bash tests/servers/canaille/install.sh

# The tests on every core (at most 4), then those that bound a wall time alone: run beside
# other tests, a machine's load, not scimrec, could decide them.
test: lint servers
	$(BIN)/pytest -q -n auto --maxprocesses 4 -m "not timing"
	$(BIN)/pytest -q -m timing

# Mutation testing of the safety code (the modules in pyproject.toml's [tool.mutmut]): each
# mutant is a small change to that code, and the tests that need no server must notice it.
# Not part of `make test`: it takes about 40 minutes on two cores. It starts afresh (an old
# result can hide a test that changed), then prints the score per module and every mutant
# no test kills that tests/MUTATION.md does not explain; it fails on either, or under 90%.
# `.venv/bin/mutmut run --max-children 2 "reconciler.core.guards*"` re-runs one module.
MUTATION_CHILDREN ?= 2
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATION_CHILDREN)
	$(PY) tests/mutation_score.py

# The lock the GitHub Action installs from (requirements/action.lock): every runtime dependency
# and the build backend, exact versions with the hashes of every file (all platforms and
# Pythons). Run it after changing pyproject.toml's dependencies (a test fails until then).
# uv comes into a throwaway virtualenv, never this project's; the command it runs is the one
# the lock's first lines show.
UV_VERSION ?= 0.13.9
lock:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; set -e; \
	python3 -m venv $$tmp/venv; \
	$$tmp/venv/bin/pip install --quiet uv==$(UV_VERSION); \
	$$tmp/venv/bin/uv pip compile pyproject.toml requirements/action-build.in --universal \
	  --python-version 3.11 --generate-hashes --only-binary :all: -o requirements/action.lock >/dev/null
