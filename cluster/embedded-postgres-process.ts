// The embedded PostgreSQL (cluster/embedded-postgres.ts) as a child process: a local cluster's
// inventory, or one throwaway server shared by a whole test run, chaos run or benchmark.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DIST } from './paths.js';
import { postgresUrl } from './postgres-server.js';
import { ManagedProcess, freePort, waitFor } from './processes.js';

export interface EmbeddedPostgresSpec {
  dataDir: string;
  port: number;
  password: string;
  logDir: string;
  /** A throwaway server's dir (holding dataDir and logDir), deleted when the server stops. */
  throwawayDir?: string;
}

/** The child process; it logs to `<logDir>/postgres.log`. */
export function embeddedPostgresProcess(spec: EmbeddedPostgresSpec): ManagedProcess {
  return new ManagedProcess({
    name: 'postgres',
    command: process.execPath,
    args: ['--enable-source-maps', join(DIST, 'cluster/embedded-postgres.js')],
    env: {
      POSTGRES_DATA_DIR: spec.dataDir,
      POSTGRES_PORT: String(spec.port),
      POSTGRES_PASSWORD: spec.password,
      ...(spec.throwawayDir ? { POSTGRES_THROWAWAY_DIR: spec.throwawayDir } : {}),
    },
    logDir: spec.logDir,
  });
}

export function newPostgresPassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Waits until `databaseUrl` answers. The embedded server's first start may take minutes (initdb, or
 * an inventory copied from PGlite); a wait for it ends at once if its process exits.
 */
export async function waitForPostgres(databaseUrl: string, embedded?: ManagedProcess): Promise<void> {
  await waitFor('Postgres', () => canQuery(databaseUrl), embedded ? 300_000 : 60_000, 200, embedded);
}

async function canQuery(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RunPostgres {
  url: string;
  stop(): Promise<void>;
}

/** A server in a temporary dir of its own, deleted (data and log) at stop. */
export async function startThrowawayPostgres(name: string): Promise<RunPostgres> {
  const dir = await mkdtemp(join(tmpdir(), `blackstart-${name}-postgres-`));
  await chmod(dir, 0o755); // as root, the server runs as `postgres`, which must reach its data dir
  const spec = { dataDir: join(dir, 'pgdata'), port: await freePort(), password: newPostgresPassword(), logDir: dir, throwawayDir: dir };
  const proc = embeddedPostgresProcess(spec);
  const url = postgresUrl(spec.port, spec.password);
  const stop = async () => {
    await proc.stop(30_000);
    await rm(dir, { recursive: true, force: true });
  };
  proc.start();
  try {
    await waitForPostgres(url, proc);
  } catch (err) {
    const log = await readFile(join(dir, 'postgres.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`${(err as Error).message}\n${log.split('\n').slice(-15).join('\n')}`);
  }
  return { url, stop };
}

let shared: Promise<RunPostgres> | null = null;

/**
 * The admin URL of one embedded server for this process's whole run (chaos, a benchmark), started
 * at the first call. It stops when this process exits: the exit sends it SIGTERM, and it stops
 * the server and deletes its data.
 */
export async function ensureEmbeddedAdminUrl(): Promise<string> {
  shared ??= startThrowawayPostgres('run').then((server) => {
    process.once('exit', () => void server.stop());
    return server;
  });
  return (await shared).url;
}
