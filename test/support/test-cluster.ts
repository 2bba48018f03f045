// A real cluster for one test file: Temporal dev server, a fresh Postgres database, the API,
// a worker and storage nodes, all child processes with short timings.
import { open, readFile } from 'node:fs/promises';
import pg from 'pg';
import { join } from 'node:path';
import type { NodeSpec } from '../../cluster/local-cluster.js';
import { SHORT_TIMINGS, startScratchCluster, type ScratchCluster } from '../../cluster/scratch-cluster.js';
import { defaultTopology } from '../../cluster/topology.js';
import type { VolumeStatusView } from '../../cli/client.js';
import { nodeToken } from '../../common/tokens.js';
import { migrate } from '../../api/repositories/db.js';
import { HttpStorageNode } from '../../storage-node/client.js';
import type { NbdTlsMode } from '../../storage-node/transport/nbd-tls.js';

/** The Postgres the tests' databases are created on: the run's embedded one (global-setup.ts), or the system one. */
export function adminDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export const TEST_TIMINGS = SHORT_TIMINGS;

/** One statement on the admin database (creating or dropping a test's own database). */
export async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

/** A new database of the test's own, migrated: its URL and a pool on it (drop it with `admin('drop database …')`). */
export async function migratedTestDatabase(dbName: string): Promise<{ db: pg.Pool; url: string }> {
  await admin(`create database ${dbName}`);
  const dbUrl = new URL(adminDatabaseUrl());
  dbUrl.pathname = `/${dbName}`;
  const db = new pg.Pool({ connectionString: dbUrl.toString(), max: 4 });
  await migrate(db);
  return { db, url: dbUrl.toString() };
}

export type TestCluster = ScratchCluster;

export function startTestCluster(
  name: string,
  opts: {
    nodes?: NodeSpec[];
    env?: Record<string, string>;
    withUi?: boolean;
    networkHosts?: boolean;
    nbdTls?: NbdTlsMode;
    apis?: number;
    workers?: number;
  } = {},
): Promise<TestCluster> {
  return startScratchCluster({
    name,
    apis: opts.apis,
    workers: opts.workers,
    withUi: opts.withUi,
    networkHosts: opts.networkHosts,
    nbdTls: opts.nbdTls,
    adminDatabaseUrl: adminDatabaseUrl(),
    nodes: opts.nodes ?? defaultTopology(6),
    env: { ...TEST_TIMINGS, ...opts.env },
    keepDir: !!process.env.KEEP_TEST_DIRS,
  });
}

/** Polls until `check` returns a truthy value (failing with the last error at the deadline). */
export async function eventually<T>(what: string, check: () => Promise<T | false | null | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The nodes holding a volume's copies according to the inventory, primary first. */
export async function copiesOf(
  t: TestCluster,
  volumeId: string,
): Promise<{ nodeId: string; role: string; state: string; epoch: number }[]> {
  const { rows } = await t.db.query(
    `select node_id as "nodeId", role, state, epoch from replicas where volume_id = $1 and state <> 'deleted' order by role, node_id`,
    [volumeId],
  );
  return rows;
}

export function powerOf(t: TestCluster, nodeId: string): string {
  return t.cluster.opts.nodes.find((n) => n.nodeId === nodeId)!.domainPath.split('/')[3]!;
}

/** What a node itself says about its copy of a volume (role, epoch, held requests, digest...). */
export async function nodeView(t: TestCluster, nodeId: string, volumeId: string) {
  const node = new HttpStorageNode(t.cluster.nodeUrl(nodeId), nodeToken(t.cluster.layout.clusterSecret, nodeId));
  return { ...(await node.status(volumeId)), digest: (await node.digest(volumeId)).digest };
}

/** The node's append-only log of effective mutations. */
export async function operationsOf(
  t: TestCluster,
  nodeId: string,
): Promise<{ op: string; volumeId: string; at: string; startedAt?: string }[]> {
  const text = await readFile(join(t.cluster.opts.dir, 'nodes', nodeId, 'operations.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Creates volumes and writes `dataBytes` of each one's own pattern at offset 0. */
export async function volumesWithData(
  t: TestCluster,
  count: number,
  sizeBytes: number,
  dataBytes: number,
  autoEnableIo: boolean,
): Promise<string[]> {
  const volumes: string[] = [];
  for (let i = 0; i < count; i++) {
    const { volumeId } = await t.customer.createVolume(sizeBytes, autoEnableIo);
    await t.customer.write(volumeId, 0, pattern(volumeId, dataBytes));
    volumes.push(volumeId);
  }
  return volumes;
}

/** Waits until every volume's recovery ended in "IO Auto-Enabled". */
export async function allAutoEnabled(t: TestCluster, volumes: string[], timeoutMs: number): Promise<void> {
  await eventually(
    'every volume auto-enabled',
    async () => {
      for (const v of volumes) {
        const { events } = await t.customer.status(v);
        if (!events.some((e) => e.description === 'IO Auto-Enabled' && e.notAfter)) return false;
      }
      return true;
    },
    timeoutMs,
  );
}

export function pattern(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (seed.charCodeAt(i % seed.length) + i) & 0xff;
  return out;
}

/** The decisions a volume under review offers, in the order its status lists them. */
export const REVIEW_ACTION_CODES = ['enable-volume-io', 'snapshot-volume', 'archive-volume', 'transfer-volume', 'delete-volume'];

/** The volume's latest potential-data-inconsistency event: the review and how it ended. */
export function reviewEvent(status: VolumeStatusView): VolumeStatusView['events'][number] {
  const event = status.events.filter((e) => e.eventType === 'potential-data-inconsistency').at(-1);
  if (!event) throw new Error(`volume ${status.volumeId} has no review event: ${JSON.stringify(status.events)}`);
  return event;
}

/** Overwrites bytes of a copy's data file (its node must be down): corruption its CRCs will catch. */
export async function corrupt(t: TestCluster, nodeId: string, volumeId: string, offset: number, length = 16): Promise<void> {
  const file = await open(join(t.cluster.opts.dir, 'nodes', nodeId, 'volumes', volumeId, 'data'), 'r+');
  try {
    const bytes = Buffer.alloc(length);
    await file.read(bytes, 0, length, offset);
    await file.write(
      bytes.map((b) => b ^ 0x5a),
      0,
      length,
      offset,
    );
  } finally {
    await file.close();
  }
}
