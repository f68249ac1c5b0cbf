#!/usr/bin/env bash
# Usage: npm_install.sh DIR (each server's install.sh calls it with its own directory).
# Installs the npm packages of the test server in DIR into DIR/node_modules (git-ignored),
# exactly as package-lock.json pins them. Idempotent: does nothing when node_modules
# already matches the lock file. Needs Node.js >= 20 and npm; installs Debian's nodejs
# and npm when node is missing and we are root (as on CI).
set -euo pipefail
cd "$1"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "npm_install.sh: node and npm are required (Node.js >= 20)" >&2
    exit 1
  fi
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "npm_install.sh: Node.js >= 20 is required, found $(node --version)" >&2
  exit 1
fi

stamp="node_modules/.scimrec-installed"
want="$(sha1sum package-lock.json | cut -c1-40)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
# --ignore-scripts: none of the pinned packages has an install script; keep it that way.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
