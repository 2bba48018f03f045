#!/usr/bin/env bash
# `npm start`: installs what is missing, builds, and starts the local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@temporalio/worker ] || npm ci --no-fund --no-audit
npm run --silent build
bash scripts/ensure-temporal.sh >/dev/null
exec node --enable-source-maps dist/cluster/main.js
