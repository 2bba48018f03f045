// What the embedded PostgreSQL does with <cluster dir>/pgdata before it starts
// (cluster/postgres-data-dir.ts), for every state a crash can leave behind, and how its server's
// log lines are weighed.
import { describe, expect, it } from 'vitest';
import { startupPlan, type DataDirState, type Step } from '../../cluster/postgres-data-dir.js';
import { parsePostgresLine } from '../../cluster/postgres-server.js';

const PGDATA: DataDirState['pgdata'][] = ['absent', 'postgres', 'pglite'];
const MIGRATING: DataDirState['migrating'][] = ['none', 'partial', 'complete'];
const ALL = PGDATA.flatMap((pgdata) => MIGRATING.map((migrating) => ({ pgdata, migrating })));

describe('the data dir before the server starts', () => {
  it.each<[DataDirState, Step[]]>([
    [{ pgdata: 'absent', migrating: 'none' }, ['initdb']],
    [{ pgdata: 'postgres', migrating: 'none' }, []],
    [{ pgdata: 'pglite', migrating: 'none' }, ['migrate', 'set-aside', 'promote']],
    // A crash during the copy: it is done again from PGlite's untouched dir.
    [{ pgdata: 'pglite', migrating: 'partial' }, ['discard-partial', 'migrate', 'set-aside', 'promote']],
    // A crash after the copy was complete: it is finished, not done again.
    [{ pgdata: 'pglite', migrating: 'complete' }, ['set-aside', 'promote']],
    [{ pgdata: 'absent', migrating: 'complete' }, ['promote']],
  ])('%o → %o', (state, steps) => {
    expect(startupPlan(state)).toEqual(steps);
  });

  it('never creates an empty database while PGlite data or a complete copy of it exists', () => {
    for (const state of ALL.filter((s) => s.pgdata === 'pglite' || (s.pgdata === 'absent' && s.migrating === 'complete'))) {
      expect(startupPlan(state)).not.toContain('initdb');
    }
  });

  it('sets PGlite’s dir aside only once a complete copy replaces it', () => {
    for (const state of ALL.filter((s) => !(s.pgdata === 'postgres' && s.migrating === 'complete'))) {
      const steps = startupPlan(state);
      if (steps.includes('set-aside')) expect(steps.slice(steps.indexOf('set-aside'))).toEqual(['set-aside', 'promote']);
      if (steps.includes('set-aside') && state.migrating !== 'complete') expect(steps).toContain('migrate');
    }
  });

  it('refuses a PostgreSQL data dir beside a complete copy rather than choose one', () => {
    expect(() => startupPlan({ pgdata: 'postgres', migrating: 'complete' })).toThrow(/both exist/);
  });
});

describe("the server's log lines", () => {
  it.each([
    ['LOG:  database system is ready to accept connections', 'info'],
    ['ERROR:  duplicate key value violates unique constraint "volumes_pkey"', 'info'],
    ['WARNING:  there is no transaction in progress', 'warn'],
    ['FATAL:  password authentication failed for user "postgres"', 'warn'],
    ['FATAL:  the database system is starting up', 'info'],
    ['FATAL:  terminating connection due to administrator command', 'info'],
    ['PANIC:  could not write to file "pg_wal/xlogtemp.1": No space left on device', 'fatal'],
    ['[STDERR] FATAL:  lock file "postmaster.pid" already exists', 'warn'],
  ])('%s → %s', (line, level) => {
    expect(parsePostgresLine(line).level).toBe(level);
  });
});
