#!/usr/bin/env bash
# Installs the SCIMMY fixture's npm packages, pinned by package-lock.json beside this file
# (the steps every Node.js test server shares are in ../npm_install.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../npm_install.sh" "$here"
