// The cluster the fuzzer runs against and the fixture it creates there: two tenants with three
// written volumes and a completed snapshot each. Its nodes offer NBD over TLS (optional, so a case
// may go either way) and admit PREAUTH_PER_SOURCE connections from one address before a grant. The world also holds what the run created
// (scratch volumes, snapshots) and the byte model of the owner's fixture volumes.
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { SHORT_TIMINGS, startScratchCluster, type ScratchCluster } from '../cluster/scratch-cluster.js';
import { defaultTopology } from '../cluster/topology.js';
import type { BlackstartClient } from '../cli/client.js';
import { joinToken } from '../common/tokens.js';
import { expand } from './bytes.js';
import { ByteModel } from './model.js';
import { FIXTURE_VOLUMES, FIXTURE_VOLUME_BYTES, NODE_COUNT } from './routes.js';

export interface Tenant {
  customerId: string;
  apiKey: string;
  client: BlackstartClient;
  volumes: string[];
  snapshot: string;
}

export interface NodeInfo {
  nodeId: string;
  url: string;
  nbd: { host: string; port: number };
}

export interface World {
  scratch: ScratchCluster;
  temporal: Client;
  closeTemporal(): Promise<void>;
  apiUrl: string;
  clusterSecret: string;
  operatorToken: string;
  joinToken: string;
  owner: Tenant;
  other: Tenant;
  nodes: NodeInfo[];
  /** The cluster CA the nodes' NBD certificates chain to. */
  nbdCa: Buffer;
  /** NODE_NBD_PREAUTH_PER_SOURCE: the cap a flood of idle connections runs into. */
  preAuthPerSource: number;
  /** Volumes and snapshots the run created as the owner, newest last. */
  created: { volumes: string[]; snapshots: string[] };
  model: ByteModel;
}

export interface WorldOptions {
  /** A Postgres of your own; default: an embedded one for the run. */
  adminDatabaseUrl?: string;
  keepDir: boolean;
  progress: (msg: string) => void;
}

const PREAUTH_PER_SOURCE = 16;
/** Below the fuzz's default deadline (10 s), so a TLS start left hanging is closed by the node, not judged a hang. */
const HANDSHAKE_MS = 3000;

export async function startWorld(opts: WorldOptions): Promise<World> {
  const scratch = await startScratchCluster({
    name: 'fuzz',
    adminDatabaseUrl: opts.adminDatabaseUrl,
    nodes: defaultTopology(NODE_COUNT),
    nbdTls: 'optional',
    env: { ...SHORT_TIMINGS, NODE_NBD_PREAUTH_PER_SOURCE: String(PREAUTH_PER_SOURCE), NODE_NBD_HANDSHAKE_MS: String(HANDSHAKE_MS) },
    keepDir: opts.keepDir,
    progress: opts.progress,
  });
  try {
    return await populate(scratch, opts.progress);
  } catch (err) {
    await scratch.stop();
    throw err;
  }
}

async function populate(scratch: ScratchCluster, progress: (msg: string) => void): Promise<World> {
  const { cluster } = scratch;
  const connection = await Connection.connect({ address: cluster.temporalAddress, connectTimeout: 10_000 });
  const model = new ByteModel();
  progress('creating the fixture: two tenants, three volumes and a snapshot each');
  const owner = await tenant(scratch, scratch.customer, model);
  const { apiKey } = await scratch.operator.createCustomer('fuzz-other-tenant');
  const other = await tenant(scratch, scratch.operator.withToken(apiKey), null);
  return {
    scratch,
    temporal: new Client({ connection }),
    closeTemporal: () => connection.close(),
    apiUrl: cluster.apiUrl,
    clusterSecret: cluster.layout.clusterSecret,
    operatorToken: cluster.operatorToken,
    joinToken: joinToken(cluster.layout.clusterSecret),
    owner,
    other,
    nodes: await nodesOf(scratch),
    nbdCa: await readFile(cluster.nbdCerts!.ca),
    preAuthPerSource: PREAUTH_PER_SOURCE,
    created: { volumes: [], snapshots: [] },
    model,
  };
}

/** A tenant's fixture: volumes with a pattern written at a few offsets, and a completed snapshot of the first. */
async function tenant(scratch: ScratchCluster, client: BlackstartClient, model: ByteModel | null): Promise<Tenant> {
  const volumes: string[] = [];
  for (let i = 0; i < FIXTURE_VOLUMES; i++) {
    const { volumeId } = await client.createVolume(FIXTURE_VOLUME_BYTES);
    model?.create(volumeId, FIXTURE_VOLUME_BYTES);
    for (const offset of [0, 5000, FIXTURE_VOLUME_BYTES - 3000]) {
      const data = expand({ seed: i * 31 + offset, length: 3000 });
      await client.write(volumeId, offset, data);
      model?.write(volumeId, offset, data);
    }
    volumes.push(volumeId);
  }
  const snap = await client.createSnapshot(volumes[0]!);
  await until(async () => (await client.snapshot(snap.snapshotId)).state === 'completed', 60_000, `snapshot ${snap.snapshotId}`);
  const customerId = await customerOf(scratch, volumes[0]!);
  return { customerId, apiKey: client.token, client, volumes, snapshot: snap.snapshotId };
}

async function customerOf(scratch: ScratchCluster, volumeId: string): Promise<string> {
  const { rows } = await scratch.db.query<{ customer_id: string }>('select customer_id from volumes where id = $1', [volumeId]);
  return rows[0]!.customer_id;
}

async function nodesOf(scratch: ScratchCluster): Promise<NodeInfo[]> {
  const { rows } = await scratch.db.query<{ id: string; nbd_address: string }>('select id, nbd_address from nodes order by id');
  return rows.map((r) => {
    const at = r.nbd_address.lastIndexOf(':');
    return {
      nodeId: r.id,
      url: scratch.cluster.nodeUrl(r.id),
      nbd: { host: r.nbd_address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(r.nbd_address.slice(at + 1)) },
    };
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function stopWorld(world: World): Promise<void> {
  await world.closeTemporal().catch(() => undefined);
  await world.scratch.stop();
}
