// Once per run: the Temporal binary exists, and the Postgres every test database lives on answers:
// TEST_DATABASE_URL, the system one (BLACKSTART_TEST_POSTGRES=system), or by default one embedded
// PostgreSQL 18 for the whole run, whose URL the test files read as TEST_DATABASE_URL (vitest
// forks its workers after this setup, with this process's environment). scripts/test.sh built dist/.
import pg from 'pg';
import { startThrowawayPostgres } from '../../cluster/embedded-postgres-process.js';
import { temporalBinary } from '../../cluster/temporal-server.js';
import { adminDatabaseUrl } from './test-cluster.js';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  process.env.TEMPORAL_CLI ??= temporalBinary();
  let stop: (() => Promise<void>) | undefined;
  if (!process.env.TEST_DATABASE_URL && process.env.BLACKSTART_TEST_POSTGRES !== 'system') {
    const server = await startThrowawayPostgres('test');
    process.env.TEST_DATABASE_URL = server.url;
    stop = server.stop;
  }
  const client = new pg.Client({ connectionString: adminDatabaseUrl() });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    await stop?.();
    throw new Error(`Postgres at ${adminDatabaseUrl()} is not reachable (set TEST_DATABASE_URL): ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return stop;
}
