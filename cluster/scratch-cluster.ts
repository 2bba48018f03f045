// A cluster of its own for a test file, a chaos run or a benchmark: a temporary directory, a
// fresh database on a Postgres (given, or the run's embedded one; dropped at stop), and an
// operator and a customer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BlackstartClient } from '../cli/client.js';
import { ensureEmbeddedAdminUrl } from './embedded-postgres-process.js';
import { LocalCluster, type NodeSpec } from './local-cluster.js';
import type { NbdTlsMode } from '../storage-node/transport/nbd-tls.js';
import { dropTemporalDatabases, temporalKind } from './temporal-postgres.js';

/** Heartbeats, timeouts and waits short enough that a recovery takes seconds. */
export const SHORT_TIMINGS = {
  HEARTBEAT_MS: '200',
  HEARTBEAT_TIMEOUT_MS: '1500',
  MONITOR_INTERVAL_MS: '200',
  REPORT_RETRY_MS: '100',
  PEER_WAIT_MS: '3000',
  RECONCILE_MS: '2000',
  REPAIR_INTERVAL_MS: '2000',
  REPAIR_GRACE_MS: '3000',
  REPAIR_STUCK_MS: '15000',
  REPAIR_BACKOFF_MS: '2000',
  REPAIR_BACKOFF_CAP_MS: '10000',
};

export interface ScratchCluster {
  cluster: LocalCluster;
  operator: BlackstartClient;
  customer: BlackstartClient;
  /** The cluster's own database, for checks the API does not expose. */
  db: pg.Pool;
  stop(): Promise<void>;
}

export interface ScratchClusterOptions {
  name: string;
  /**
   * A Postgres the database is created on, e.g. postgres://postgres@127.0.0.1:5432/postgres;
   * default: an embedded PostgreSQL started once for this process's run.
   */
  adminDatabaseUrl?: string;
  nodes: NodeSpec[];
  nodesPerProcess?: number;
  /** Each node on a network host of its own (LocalCluster's `networkHosts`). */
  networkHosts?: boolean;
  env: Record<string, string>;
  /** Keep the directory (logs, data files, temporal.db) after stop. */
  keepDir?: boolean;
  /** Run the Temporal Web UI, on a free port (default: none). */
  withUi?: boolean;
  /** The nodes' NBD over TLS (LocalCluster's `nbdTls`; default off). */
  nbdTls?: NbdTlsMode;
  /** API and worker processes (LocalCluster's `apis`, `workers`). */
  apis?: number;
  workers?: number;
  /** Extra `node` flags for the storage node processes (LocalCluster's `nodeFlags`). */
  nodeFlags?: string[];
  progress?: (msg: string) => void;
}

export async function startScratchCluster(opts: ScratchClusterOptions): Promise<ScratchCluster> {
  const adminUrl = opts.adminDatabaseUrl ?? (await ensureEmbeddedAdminUrl());
  const dir = await mkdtemp(join(tmpdir(), `blackstart-${opts.name}-`));
  const dbName = `blackstart_${opts.name.replace(/\W/g, '_')}_${process.pid}_${Date.now() % 100000}`;
  await adminQuery(adminUrl, `create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const dropAll = async () => {
    await adminQuery(adminUrl, `drop database if exists ${dbName} with (force)`);
    if (temporalKind() === 'postgres') await dropTemporalDatabases(dir);
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
  };
  const cluster = await LocalCluster.start(
    {
      dir,
      nodes: opts.nodes,
      nodesPerProcess: opts.nodesPerProcess,
      networkHosts: opts.networkHosts,
      nbdTls: opts.nbdTls,
      apis: opts.apis,
      workers: opts.workers,
      nodeFlags: opts.nodeFlags,
      databaseUrl: url.toString(),
      uiPort: opts.withUi ? undefined : null,
      env: opts.env,
    },
    opts.progress,
  ).catch(async (err: unknown) => {
    await dropAll();
    throw err;
  });
  const operator = new BlackstartClient(cluster.apiUrls.join(','), cluster.operatorToken);
  const { apiKey } = await operator.createCustomer(`${opts.name}-customer`);
  const db = new pg.Pool({ connectionString: url.toString(), max: 2 });
  return {
    cluster,
    operator,
    customer: operator.withToken(apiKey),
    db,
    async stop() {
      await db.end();
      await cluster.stop();
      await dropAll();
    },
  };
}

async function adminQuery(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
