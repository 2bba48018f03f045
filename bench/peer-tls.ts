// What mutual TLS between peers costs the mirror: one process, a secondary's HTTP app and mirror
// stream served on a plain port and on its TLS peer port (certificates from scripts/node-certs.sh),
// and a primary's mirror stream client sending it batches over each in turn, round after round, so
// that a busy machine weighs on both alike. The secondary syncs each batch as a node does (fsync on).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNodeCerts } from '../cluster/node-certs.js';
import { boundPort, closeServer, listen, listenTls } from '../common/listen.js';
import { mirrorToken, nodeToken, volumeMirrorToken } from '../common/tokens.js';
import { openSnapshotStore } from '../snapshot-store/store.js';
import { HttpStorageNode, type ReplicationPeer } from '../storage-node/client.js';
import { NodeService } from '../storage-node/node-service.js';
import { NodeStore } from '../storage-node/store/node-store.js';
import { createNodeApp } from '../storage-node/transport/http-server.js';
import { MirrorStreamPool } from '../storage-node/transport/mirror-stream-client.js';
import { MirrorStreamServer } from '../storage-node/transport/mirror-stream-server.js';
import { loadPeerTls } from '../storage-node/transport/peer-tls.js';
import { round } from './nbd-tools.js';

const SECRET = 'bench-secret';
const NODE = 'node-s';
const ROUNDS = 5;

export interface PeerTlsBenchOptions {
  /** Seconds each transport sends, in all (split over the rounds). */
  seconds: number;
  /** Writes of 4 KiB in each mirror batch. */
  writesPerBatch: number;
}

interface Figures {
  batches: number;
  seconds: number;
}

export async function peerTlsBench(opts: PeerTlsBenchOptions): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'blackstart-peer-tls-bench-'));
  try {
    const certs = await ensureNodeCerts(join(dir, 'certs'), [{ nodeId: NODE }, { nodeId: 'node-p' }]);
    const files = (id: string) => ({
      cert: join(certs.dir, 'nodes', `${id}.pem`),
      key: join(certs.dir, 'nodes', `${id}.key`),
      ca: certs.ca,
    });
    const store = new NodeStore(join(dir, 'data'), true);
    await store.load();
    const service = new NodeService(NODE, store, 1 << 30, openSnapshotStore(join(dir, 'store')));
    const credentials = { token: nodeToken(SECRET, NODE), mirrorToken: mirrorToken(SECRET, NODE) };
    const app = createNodeApp(service, () => credentials);
    const streams = new MirrorStreamServer(service, () => credentials);
    const plain = await listen(app, 0);
    const secure = await listenTls(app, loadPeerTls('require', files(NODE), NODE)!.server, 0);
    for (const server of [plain, secure]) streams.attach(server);
    const clientTls = loadPeerTls('require', files('node-p'), 'node-p')!;
    const pools = { plain: new MirrorStreamPool(), tls: new MirrorStreamPool(clientTls) };
    try {
      const node = new HttpStorageNode(`http://127.0.0.1:${boundPort(plain)}`, credentials.token);
      const transports = {
        plain: { client: pools.plain, url: `http://127.0.0.1:${boundPort(plain)}`, volumeId: 'vol-plain' },
        tls: { client: pools.tls, url: `https://127.0.0.1:${boundPort(secure)}`, volumeId: 'vol-tls' },
      };
      for (const t of Object.values(transports))
        await node.createVolume(t.volumeId, { sizeBytes: 64 << 20, role: 'secondary', epoch: 1, peer: null });
      const totals = { plain: { batches: 0, seconds: 0 }, tls: { batches: 0, seconds: 0 } };
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, t] of Object.entries(transports) as [keyof typeof totals, (typeof transports)['plain']][]) {
          const f = await sendFor(
            t.client,
            { nodeId: NODE, url: t.url, token: volumeMirrorToken(credentials.mirrorToken, t.volumeId, 1) },
            t.volumeId,
            totals[name],
            opts,
          );
          totals[name] = f;
        }
      }
      return report(opts, totals);
    } finally {
      Object.values(pools).forEach((p) => p.close());
      streams.close();
      clientTls.agent.destroy();
      await Promise.all([closeServer(plain), closeServer(secure)]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sends batches one after another for this round's share of the time; the totals so far go on from `from`. */
async function sendFor(
  client: Pick<ReplicationPeer, 'mirror'>,
  peer: { nodeId: string; url: string; token: string },
  volumeId: string,
  from: Figures,
  opts: PeerTlsBenchOptions,
): Promise<Figures> {
  const payload = Buffer.alloc(4096, 0x5a);
  const until = performance.now() + (opts.seconds * 1000) / ROUNDS;
  const started = performance.now();
  let { batches } = from;
  while (performance.now() < until) {
    const first = batches * opts.writesPerBatch + 1;
    const writes = Array.from({ length: opts.writesPerBatch }, (_, i) => ({
      seq: first + i,
      offset: ((first + i) % 16384) * 4096,
      payload,
    }));
    await client.mirror(peer, { volumeId, epoch: 1, writes });
    batches++;
  }
  return { batches, seconds: from.seconds + (performance.now() - started) / 1000 };
}

function report(opts: PeerTlsBenchOptions, totals: { plain: Figures; tls: Figures }): Record<string, unknown> {
  const rate = (f: Figures) => f.batches / f.seconds;
  const mibps = (f: Figures) => (rate(f) * opts.writesPerBatch * 4096) / (1 << 20);
  return {
    writesPerBatch: opts.writesPerBatch,
    seconds: opts.seconds,
    plainBatchesPerSecond: round(rate(totals.plain)),
    tlsBatchesPerSecond: round(rate(totals.tls)),
    plainMiBps: round(mibps(totals.plain)),
    tlsMiBps: round(mibps(totals.tls)),
    tlsRatio: round(rate(totals.tls) / rate(totals.plain)),
  };
}
