#!/usr/bin/env bash
# Installs Canaille (an identity server with its own SCIM endpoints and OAuth2 server) in a
# virtualenv of its own beside this file: its pinned set (requirements.txt) needs an older
# scim2-models than scim2-server does, so it cannot share the project's. Idempotent: a venv
# built from the same requirements.txt is kept.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.installed-$(sha1sum "$here/requirements.txt" | cut -c1-12)"
if [ -f "$stamp" ]; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet --no-deps -r "$here/requirements.txt"
"$venv/bin/python" -c "import canaille.scim.endpoints"  # the set is complete
touch "$stamp"
