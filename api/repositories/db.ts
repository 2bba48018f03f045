// The connection pool and the migration runner: the only place that opens connections.
import pg from 'pg';
import { logger } from '../../common/log.js';
import { MIGRATIONS } from './migrations.js';

export type Db = pg.Pool;
export type Tx = pg.PoolClient;

export function createPool(databaseUrl: string, max = 10): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', (err) => logger({ component: 'db' }).error({ err }, 'postgres pool error'));
  return pool;
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const tx = await db.connect();
  try {
    await tx.query('begin');
    const result = await fn(tx);
    await tx.query('commit');
    return result;
  } catch (err) {
    await tx.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

export async function migrate(db: Db): Promise<string[]> {
  return inTransaction(db, async (tx) => {
    // One migrator at a time, even with several API processes starting together.
    await tx.query('select pg_advisory_xact_lock(7233001)');
    await tx.query('create table if not exists schema_migrations (id text primary key, applied_at timestamptz not null default now())');
    const { rows } = await tx.query<{ id: string }>('select id from schema_migrations');
    const applied = new Set(rows.map((r) => r.id));
    const ran: string[] = [];
    for (const m of MIGRATIONS) {
      if (applied.has(m.id)) continue;
      await tx.query(m.sql);
      await tx.query('insert into schema_migrations (id) values ($1)', [m.id]);
      ran.push(m.id);
    }
    return ran;
  });
}
