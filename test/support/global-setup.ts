// Once per run: the Temporal binary exists and Postgres answers. (scripts/test.sh built dist/.)
import pg from 'pg';
import { temporalBinary } from '../../cluster/temporal-server.js';
import { adminDatabaseUrl } from './test-cluster.js';

export default async function setup(): Promise<void> {
  process.env.TEMPORAL_CLI ??= temporalBinary();
  const client = new pg.Client({ connectionString: adminDatabaseUrl() });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(`Postgres at ${adminDatabaseUrl()} is not reachable (set TEST_DATABASE_URL): ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
