// The embedded PostgreSQL's data dir, <cluster dir>/pgdata: created once, migrated once from
// PGlite, never reset. Each change is prepared beside it (pgdata-init, pgdata-migrating) and then
// renamed into place, so a crash at any point leaves either the old state, done again at the next
// start, or the complete new one.
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPool } from '../api/repositories/db.js';
import { logger } from '../common/log.js';
import { copyPgliteInventory, isPgliteDataDir } from './pglite-migration.js';
import { PostgresServer, stopOrphan } from './postgres-server.js';
import { freePort } from './processes.js';

const SERVER_VERSION = '18';
/** Written into pgdata-migrating once the copy is complete: from then on it replaces pgdata. */
const MIGRATED = 'blackstart-migrated-from-pglite.json';

export interface DataDirState {
  pgdata: 'absent' | 'postgres' | 'pglite';
  migrating: 'none' | 'partial' | 'complete';
}

export type Step = 'discard-partial' | 'initdb' | 'migrate' | 'set-aside' | 'promote';

/** What to do before the server starts on pgdata. */
export function startupPlan(s: DataDirState): Step[] {
  if (s.migrating === 'complete') {
    if (s.pgdata === 'postgres') throw new Error('a completed PGlite migration and a PostgreSQL data dir both exist');
    return s.pgdata === 'pglite' ? ['set-aside', 'promote'] : ['promote'];
  }
  const discard: Step[] = s.migrating === 'partial' ? ['discard-partial'] : [];
  if (s.pgdata === 'absent') return [...discard, 'initdb'];
  if (s.pgdata === 'pglite') return [...discard, 'migrate', 'set-aside', 'promote'];
  return discard;
}

/** Brings `pgdata` to a PostgreSQL 18 data dir the server can start on (as root, owned by `postgres`). */
export async function prepareDataDir(pgdata: string, password: string): Promise<void> {
  const dirs = { pgdata, init: `${pgdata}-init`, migrating: `${pgdata}-migrating` };
  // A wrapper killed with SIGKILL leaves its server running: stop it before touching its dir.
  for (const dir of Object.values(dirs)) await stopOrphan(dir);
  const steps: Record<Step, () => Promise<void>> = {
    'discard-partial': () => rm(dirs.migrating, { recursive: true, force: true }),
    initdb: async () => {
      await rm(dirs.init, { recursive: true, force: true });
      await new PostgresServer(dirs.init, 0, password).initialise();
      await rename(dirs.init, pgdata);
      logger().info(`postgres: created ${pgdata}`);
    },
    migrate: () => migrateFromPglite(pgdata, dirs.migrating, password),
    'set-aside': async () => {
      const aside = `${pgdata}-pglite-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}`;
      await rename(pgdata, aside);
      logger().warn(
        `postgres: the inventory was copied from PGlite to PostgreSQL 18; PGlite's data dir is kept at ${aside} (delete it when you no longer need it)`,
      );
    },
    promote: () => rename(dirs.migrating, pgdata),
  };
  const plan = startupPlan({ pgdata: await kindOf(pgdata), migrating: migrationState(dirs.migrating) });
  for (const step of plan) await steps[step]();
}

async function kindOf(dir: string): Promise<DataDirState['pgdata']> {
  if (!existsSync(dir) || (await readdir(dir)).length === 0) return 'absent';
  const version = (await readFile(join(dir, 'PG_VERSION'), 'utf8').catch(() => '')).trim();
  if (version !== SERVER_VERSION) {
    throw new Error(
      `${dir} is not a PostgreSQL ${SERVER_VERSION} data dir (PG_VERSION: ${version || 'none'}): move it aside to start with an ` +
        `empty inventory, or set DATABASE_URL to a Postgres that holds it`,
    );
  }
  return (await isPgliteDataDir(dir)) ? 'pglite' : 'postgres';
}

function migrationState(dir: string): DataDirState['migrating'] {
  if (!existsSync(dir)) return 'none';
  return existsSync(join(dir, MIGRATED)) ? 'complete' : 'partial';
}

/** Copies PGlite's inventory into a new PostgreSQL data dir beside it; refuses to go on if that fails. */
async function migrateFromPglite(pgdata: string, migrating: string, password: string): Promise<void> {
  logger().warn(`postgres: ${pgdata} was written by PGlite (the embedded database before PostgreSQL 18): copying its inventory, once`);
  await rm(migrating, { recursive: true, force: true });
  try {
    const server = new PostgresServer(migrating, await freePort(), password);
    await server.initialise();
    await server.start();
    const db = createPool(server.url, 2);
    try {
      const rows = await copyPgliteInventory(pgdata, db);
      await writeFile(join(migrating, MIGRATED), JSON.stringify({ from: pgdata, at: new Date().toISOString(), rows }, null, 2));
      logger().info({ rows }, `postgres: copied ${Object.values(rows).reduce((a, b) => a + b, 0)} rows from PGlite`);
    } finally {
      await db.end();
      await server.stop();
    }
  } catch (err) {
    await rm(migrating, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(
      `${pgdata} holds an inventory written by PGlite, and copying it to PostgreSQL 18 failed: ${(err as Error).message}. ` +
        `Nothing was deleted: PGlite's data stays in ${pgdata}. Fix the cause and start again; or set DATABASE_URL to a ` +
        `Postgres of your own; or, to start with an empty inventory, move ${pgdata} aside.`,
    );
  }
}
