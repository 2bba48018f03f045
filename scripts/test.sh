#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, and runs every test against real processes.
# Extra arguments go to vitest (e.g. a file filter, or --reporter=json --outputFile=...).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@temporalio/worker ] || npm ci --no-fund --no-audit
export TEMPORAL_CLI="${TEMPORAL_CLI:-$(bash scripts/ensure-temporal.sh)}"
export VERSITYGW="${VERSITYGW:-$(bash scripts/ensure-versitygw.sh)}" # the S3 server the snapshot-store tests run against
bash scripts/ensure-clients.sh
# The tests' databases live on one embedded PostgreSQL 18 for the run (test/support/global-setup.ts),
# unless TEST_DATABASE_URL names a Postgres or BLACKSTART_TEST_POSTGRES=system picks the local one.
# The local one is started if it is down: the Temporal server on Postgres (the second pass) uses it.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
npm run --silent build
npm run --silent lint
npx vitest run "$@"
# With no filter, the recovery tests (and the Temporal server's own SIGKILL mid-recovery) run a
# second time on the Temporal server on Postgres (issue 11), and docker-compose.yml's Temporal
# config, schema job and admin job run on it (compose-temporal, skipped on the dev server).
if [ $# -eq 0 ]; then
  bash scripts/ensure-temporal-server.sh >/dev/null
  BLACKSTART_TEMPORAL=postgres npx vitest run --outputFile.json=test-results/vitest-postgres.json test/integration/single-node-failure.test.ts \
    test/integration/power-domain-outage.test.ts test/integration/worker-crash.test.ts test/integration/chaos.test.ts \
    test/integration/temporal-crash.test.ts test/integration/compose-temporal.test.ts
fi
