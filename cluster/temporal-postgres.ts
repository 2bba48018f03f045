// The Temporal server on Postgres (BLACKSTART_TEMPORAL=postgres): go.temporal.io/server built by
// scripts/ensure-temporal-server.sh, its schemas set up with its own SQL tool from the schema
// files that ship in the module, a config file of ours, the namespace and our search attributes
// registered over the operator API. Each cluster gets its own pair of databases.
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

/**
 * History shards: the unit of Temporal's history partitioning, fixed for the life of a cluster.
 * One host here, so few: each shard is a set of timers and queues polled on its own; 4 keeps
 * that overhead small on 2 cores while letting history work run side by side. A production
 * cluster picks it for its largest size (e.g. 512+) and can never change it without a new cluster.
 */
export const NUM_HISTORY_SHARDS = 4;

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

function sqlTool(bin: string, db: string, args: string[]): void {
  const url = adminUrl();
  execFileSync(
    join(bin, 'temporal-sql-tool'),
    [
      '--plugin',
      'postgres12',
      '--ep',
      url.hostname,
      '-p',
      url.port || '5432',
      '-u',
      decodeURIComponent(url.username || 'postgres'),
      ...(url.password ? ['--pw', decodeURIComponent(url.password)] : []),
      '--db',
      db,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Creates and migrates both schemas (idempotent: the tool applies only missing versions). */
export function setupSchemas(bin: string, dir: string): void {
  const dbs = temporalDatabases(dir);
  for (const [db, schema] of [
    [dbs.main, 'temporal'],
    [dbs.visibility, 'visibility'],
  ] as const) {
    try {
      sqlTool(bin, db, ['create-database']);
    } catch {
      /* exists already */
    }
    sqlTool(bin, db, ['setup-schema', '-v', '0.0']);
    sqlTool(bin, db, ['update-schema', '-d', join(bin, 'schema', 'postgresql', 'v12', schema, 'versioned')]);
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

export async function postgresTemporalProcess(opts: { dir: string; port: number; logDir: string }): Promise<ManagedProcess> {
  const bin = temporalServerDir();
  setupSchemas(bin, opts.dir);
  const configFile = join(opts.dir, 'temporal-server.yaml');
  await writeFile(configFile, await serverConfig(opts.dir, opts.port));
  return new ManagedProcess({
    name: 'temporal',
    command: join(bin, 'temporal-server'),
    args: ['--config-file', configFile, '--allow-no-auth', 'start'],
    env: {},
    logDir: opts.logDir,
  });
}

async function serverConfig(dir: string, frontendPort: number): Promise<string> {
  const url = adminUrl();
  const dbs = temporalDatabases(dir);
  const store = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "${url.hostname}:${url.port || '5432'}"
        connectProtocol: tcp
        user: "${decodeURIComponent(url.username || 'postgres')}"
        password: "${decodeURIComponent(url.password)}"
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const rpc = async (grpcPort: number, extra = '') => `
    rpc:
      grpcPort: ${grpcPort}
      membershipPort: ${await freeMembershipPort()}
      bindOnIP: 127.0.0.1${extra}`;
  return `# Written by cluster/temporal-postgres.ts for one local cluster.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  # See NUM_HISTORY_SHARDS in cluster/temporal-postgres.ts: fixed for the life of the cluster.
  numHistoryShards: ${NUM_HISTORY_SHARDS}
  datastores:
    postgres-default:${store(dbs.main, 20)}
    postgres-visibility:${store(dbs.visibility, 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:${await rpc(frontendPort, `\n      httpPort: ${await freePort()}`)}
  history:${await rpc(await freePort())}
  matching:${await rpc(await freePort())}
  worker:${await rpc(await freePort())}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:${frontendPort}
dcRedirectionPolicy:
  policy: noop
archival:
  history:
    state: disabled
  visibility:
    state: disabled
namespaceDefaults:
  archival:
    history:
      state: disabled
    visibility:
      state: disabled
`;
}

/** The `default` namespace and our search attributes (the dev server takes both as flags). */
export async function registerNamespace(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService
      .registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('3 days') })
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
async function freeMembershipPort(): Promise<number> {
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
