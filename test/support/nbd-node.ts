// One storage node's NBD server in-process over a NodeStore in a temporary directory, with grants
// signed by a fixed token, and a raw TCP client for byte-level tests.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signGrant, type GrantAccess } from '../../common/tokens.js';
import type { ReplicaRole } from '../../common/types.js';
import { openSnapshotStore } from '../../snapshot-store/store.js';
import { nodeMetrics } from '../../storage-node/metrics.js';
import { NodeService } from '../../storage-node/node-service.js';
import { NodeStore } from '../../storage-node/store/node-store.js';
import { grantExports } from '../../storage-node/transport/nbd-export.js';
import { startNbdServer, type RunningNbdServer } from '../../storage-node/transport/nbd-server.js';
import type { NbdTls } from '../../storage-node/transport/nbd-tls.js';
import type { PreAuthCaps } from '../../storage-node/transport/pre-auth-limit.js';
import { copyBytes } from './copy-on-disk.js';

export const NODE_ID = 'nbd-node-1';
export const TOKEN = `${NODE_ID}.test-token-signing-grants`;

export interface NbdNode {
  dir: string;
  service: NodeService;
  server: RunningNbdServer;
  token: string | null;
  create(volumeId: string, sizeBytes: number, role?: ReplicaRole): Promise<void>;
  grant(volumeId: string, access: GrantAccess, opts?: { nodeId?: string; expiresAt?: number; token?: string }): string;
  uri(exportName: string): string;
  /** SHA-256 of the volume's bytes in its data file. */
  hash(volumeId: string): Promise<string>;
  data(volumeId: string): Promise<Buffer>;
  /** The node's /metrics text. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startNbdNode(
  opts: { fsync?: boolean; maxInFlight?: number; preAuth?: PreAuthCaps; handshakeTimeoutMs?: number; tls?: NbdTls } = {},
): Promise<NbdNode> {
  const dir = await mkdtemp(join(tmpdir(), 'nbd-node-'));
  const store = new NodeStore(join(dir, 'data'), opts.fsync ?? false);
  await store.load();
  await store.claimIdentity(NODE_ID);
  const service = new NodeService(NODE_ID, store, 1 << 30, openSnapshotStore(join(dir, 'snapshots')));
  const metrics = nodeMetrics(NODE_ID, store, service);
  const node: NbdNode = {
    dir,
    service,
    token: TOKEN,
    server: null as unknown as RunningNbdServer,
    async create(volumeId, sizeBytes, role = 'primary') {
      await service.createVolume({ volumeId, sizeBytes, role, epoch: 1, peer: null });
    },
    grant(volumeId, access, g = {}) {
      return signGrant({ volumeId, access, nodeId: g.nodeId ?? NODE_ID, expiresAt: g.expiresAt ?? Date.now() + 600_000 }, g.token ?? TOKEN);
    },
    uri: (name) => `nbd://127.0.0.1:${node.server.port}/${name}`,
    data: (volumeId) => copyBytes(join(dir, 'data', 'volumes', volumeId)),
    metrics: () => metrics.registry.metrics(),
    async hash(volumeId) {
      return createHash('sha256')
        .update(await node.data(volumeId))
        .digest('hex');
    },
    async stop() {
      await node.server.close();
      await store.markCleanShutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
  node.server = await startNbdServer(
    {
      exports: metrics.countConnections(grantExports(service, () => node.token, opts.fsync ?? false)),
      maxInFlight: opts.maxInFlight,
      preAuth: opts.preAuth && metrics.preAuthLimit(opts.preAuth),
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      tls: opts.tls,
    },
    { port: 0, host: '127.0.0.1' },
  );
  return node;
}

/**
 * Sends `bytes` (in the given pieces) over one TCP connection, half-closes unless `keepOpen`,
 * and collects what the server sends until it closes (or `timeoutMs`).
 */
export function exchange(
  port: number,
  pieces: Buffer[],
  opts: { timeoutMs?: number; keepOpen?: boolean } = {},
): Promise<{ received: Buffer; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const received: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(received), closedByServer });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 2000);
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('end', () => finish(true));
    socket.on('connect', () => {
      for (const piece of pieces) socket.write(piece);
      if (!opts.keepOpen) socket.end();
    });
  });
}
