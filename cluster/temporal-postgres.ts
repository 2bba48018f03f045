// The Temporal server on Postgres (BLACKSTART_TEMPORAL=postgres): go.temporal.io/server built by
// scripts/ensure-temporal-server.sh, its schemas set up with its own SQL tool from the schema
// files that ship in the module, a config file of ours (temporal-config.ts), the namespace and
// our search attributes registered over the operator API, and the Web UI server beside it
// (temporal-ui.ts). Each cluster gets its own pair of databases.
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { SEARCH_ATTRIBUTES } from '../common/messages.js';
import { ROOT } from './paths.js';
import { createServer } from 'node:net';
import { ManagedProcess, freePort } from './processes.js';
import {
  NAMESPACE_RETENTION_DAYS,
  schemaCommands,
  temporalServerArgs,
  temporalServerConfig,
  type TemporalDatabase,
} from './temporal-config.js';
import { ServerWithUi, layoutUiPort, uiServerProcess } from './temporal-ui.js';

export type TemporalKind = 'dev' | 'postgres';
export function temporalKind(env: NodeJS.ProcessEnv = process.env): TemporalKind {
  const kind = env.BLACKSTART_TEMPORAL ?? 'dev';
  if (kind !== 'dev' && kind !== 'postgres') throw new Error(`BLACKSTART_TEMPORAL=${kind}: expected dev or postgres`);
  return kind;
}

export function temporalServerDir(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'ensure-temporal-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

function adminUrl(): URL {
  return new URL(process.env.TEMPORAL_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
}

/** The two databases of the cluster in `dir`: stable across restarts of the same cluster. */
export function temporalDatabases(dir: string): { main: string; visibility: string } {
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 12);
  return { main: `temporal_${id}`, visibility: `temporal_visibility_${id}` };
}

/** The cluster's Temporal databases on the admin Postgres (TEMPORAL_DATABASE_URL or the local one). */
export function databaseOf(dir: string): TemporalDatabase {
  const url = adminUrl();
  return {
    host: url.hostname,
    port: Number(url.port || '5432'),
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password),
    ...temporalDatabases(dir),
  };
}

/** Creates and migrates both schemas (idempotent: the tool applies only missing versions). */
export function setupSchemas(bin: string, dir: string): void {
  for (const { args, optional } of schemaCommands(databaseOf(dir), join(bin, 'schema'))) {
    try {
      execFileSync(join(bin, 'temporal-sql-tool'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      if (!optional) throw err; // create-database: it exists already
    }
  }
}

export async function dropTemporalDatabases(dir: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl().toString() });
  await client.connect();
  try {
    for (const db of Object.values(temporalDatabases(dir))) await client.query(`drop database if exists ${db} with (force)`);
  } finally {
    await client.end();
  }
}

/**
 * The server, and its Web UI when built and the cluster's layout has a UI port: the UI runs beside
 * the server, survives its SIGKILL (as a separate deployment would) and stops with it.
 */
export async function postgresTemporalProcess(opts: { dir: string; port: number; logDir: string }): Promise<ManagedProcess> {
  const bin = temporalServerDir();
  setupSchemas(bin, opts.dir);
  const configFile = join(opts.dir, 'temporal-server.yaml');
  await writeFile(configFile, await localConfig(opts.dir, opts.port));
  const spec = {
    name: 'temporal',
    command: join(bin, 'temporal-server'),
    args: temporalServerArgs(configFile),
    env: {},
    logDir: opts.logDir,
  };
  const uiPort = await layoutUiPort(opts.dir);
  const ui = uiPort
    ? await uiServerProcess({ bin, dir: opts.dir, temporalAddress: `127.0.0.1:${opts.port}`, port: uiPort, logDir: opts.logDir })
    : null;
  return ui ? new ServerWithUi(spec, ui) : new ManagedProcess(spec);
}

async function localConfig(dir: string, frontendPort: number): Promise<string> {
  const grpcPorts = { frontend: frontendPort, history: await freePort(), matching: await freePort(), worker: await freePort() };
  const membershipPorts = {
    frontend: await freeMembershipPort(),
    history: await freeMembershipPort(),
    matching: await freeMembershipPort(),
    worker: await freeMembershipPort(),
  };
  return temporalServerConfig({
    db: databaseOf(dir),
    grpcPorts,
    membershipPorts,
    frontendHttpPort: await freePort(),
    bindOnIP: '127.0.0.1',
    broadcastAddress: '127.0.0.1',
  });
}

/** The `default` namespace and our search attributes (the dev server takes both as flags). */
export async function registerNamespace(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService
      .registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs(`${NAMESPACE_RETENTION_DAYS} days`) })
      .catch((err: { code?: number }) => {
        if (err.code !== 6) throw err;
      }); // 6: ALREADY_EXISTS
    const types = { Keyword: 2 } as const; // temporal.api.enums.v1.IndexedValueType
    await connection.operatorService
      .addSearchAttributes({
        namespace: 'default',
        searchAttributes: Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [name, types[type]])),
      })
      .catch((err: { code?: number }) => {
        if (err.code !== 6) throw err;
      });
  } finally {
    await connection.close();
  }
}

/**
 * The server records each service's membership port in cluster_membership.rpc_port, a smallint:
 * a port above 32767 (any ephemeral port Linux hands out) stops it at boot ("out of range for
 * type smallint"). So these come from 20000-32767, tried until one binds.
 */
export async function freeMembershipPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12767);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
