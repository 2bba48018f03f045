// One real local cluster for a whole chaos run: a fresh Postgres database, short timings, and
// the customer and operator clients the scenarios act through.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BlackstartClient } from '../cli/client.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { defaultTopology } from '../cluster/topology.js';

export const CHAOS_TIMINGS = {
  HEARTBEAT_MS: '200',
  HEARTBEAT_TIMEOUT_MS: '1500',
  MONITOR_INTERVAL_MS: '200',
  REPORT_RETRY_MS: '100',
  PEER_WAIT_MS: '3000',
};

export interface ChaosCluster {
  cluster: LocalCluster;
  operator: BlackstartClient;
  customer: BlackstartClient;
  db: pg.Pool;
  stop(): Promise<void>;
}

export interface ChaosClusterOptions {
  adminDatabaseUrl: string;
  /** Keep the cluster directory (logs, data files, temporal.db) after the run. */
  keepDir: boolean;
  progress?: (msg: string) => void;
}

export async function startChaosCluster(opts: ChaosClusterOptions): Promise<ChaosCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'blackstart-chaos-'));
  const dbName = `blackstart_chaos_${process.pid}_${Date.now() % 100000}`;
  await adminQuery(opts.adminDatabaseUrl, `create database ${dbName}`);
  const url = new URL(opts.adminDatabaseUrl);
  url.pathname = `/${dbName}`;
  const cluster = await LocalCluster.start(
    { dir, nodes: defaultTopology(6), databaseUrl: url.toString(), uiPort: null, env: CHAOS_TIMINGS },
    opts.progress,
  );
  const operator = new BlackstartClient(cluster.apiUrl, cluster.operatorToken);
  const { apiKey } = await operator.createCustomer('chaos-customer');
  const db = new pg.Pool({ connectionString: url.toString(), max: 2 });
  return {
    cluster,
    operator,
    customer: operator.withToken(apiKey),
    db,
    async stop() {
      await db.end();
      await cluster.stop();
      await adminQuery(opts.adminDatabaseUrl, `drop database if exists ${dbName} with (force)`);
      if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
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
