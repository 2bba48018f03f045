#!/usr/bin/env bash
# `npm start`: installs what is missing, builds, and starts the local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@temporalio/worker ] || npm ci --no-fund --no-audit
npm run --silent build
if [ "${BLACKSTART_TEMPORAL:-dev}" = postgres ]; then
  # The Temporal server on Postgres (and its Web UI), built once per machine; its databases on
  # TEMPORAL_DATABASE_URL, or on the local Postgres, started if it is down.
  bash scripts/ensure-temporal-server.sh >/dev/null
  if [ -z "${TEMPORAL_DATABASE_URL:-}" ] && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
else
  bash scripts/ensure-temporal.sh >/dev/null
fi
exec node --enable-source-maps dist/cluster/main.js
