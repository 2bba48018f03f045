// Held I/O released: a volume whose both copies lost power is restored with its I/O held for
// review; 1,000 requests sent through `blackstart attach` (several NBD connections, each bounded
// to 256 in flight) stay unanswered; then enable-io, and the time from its HTTP answer to the
// last reply.
import { randomFillSync } from 'node:crypto';
import type { ScratchCluster } from '../cluster/scratch-cluster.js';
import { startAttach } from '../chaos/attach.js';
import { NbdClient, type TimedReply } from './nbd-client.js';
import { round, type Children } from './nbd-tools.js';

export interface HeldOptions {
  connections: number;
  requestsPerConnection: number;
  /** 'mixed': 4 KiB reads and writes alternating; 'reads': 4 KiB reads only (the release alone, no write cost). */
  mix: 'mixed' | 'reads';
  progress: (msg: string) => void;
}

export interface HeldRelease {
  heldRequests: number;
  heldReads: number;
  heldWrites: number;
  /** Replies that arrived while I/O was held (before enable-io was asked): must be 0. */
  answeredWhileHeld: number;
  heldSeconds: number;
  /** From enable-io's HTTP answer to the last reply: the max over requests. */
  heldReleaseMs: number;
  /** From the enable-io call being made to the last reply. */
  heldReleaseFromCallMs: number;
  heldReleaseP50Ms: number;
  heldReleaseReadsMs: number;
  heldReleaseWritesMs: number;
  /** Replies that arrived before enable-io's HTTP answer did (the node releases before the workflow returns). */
  answeredBeforeEnableReturned: number;
  enableIoCallMs: number;
  heldErrors: number;
  /** From power back to the volume asking for its review decision. */
  reviewReadySeconds: number;
}

const VOLUME_BYTES = 16 * 1024 * 1024;
const BLOCK = 4096;
const HOLD_MS = 2000;
const READY_TIMEOUT_MS = 180_000;
const RELEASE_TIMEOUT_MS = 60_000;

export async function measureHeldRelease(scratch: ScratchCluster, children: Children, opts: HeldOptions): Promise<HeldRelease> {
  const { cluster, customer } = scratch;
  const { volumeId } = await customer.createVolume(VOLUME_BYTES, false);
  await customer.write(volumeId, 0, randomFillSync(Buffer.alloc(1024 * 1024)));
  const attach = children.track(await startAttach({ apiUrl: cluster.apiUrl, apiKey: customer.token, volumeId }));
  const copies = await copyNodes(scratch, volumeId);
  opts.progress(`held (${opts.mix}): power loss of ${copies.join(', ')} (both copies of ${volumeId})`);
  await Promise.all(copies.map((n) => cluster.killNode(n)));
  const powerBack = Date.now();
  await Promise.all(copies.map((n) => cluster.startNode(n)));
  await waitForReview(scratch, volumeId);
  const reviewReadySeconds = (Date.now() - powerBack) / 1000;
  opts.progress(
    `held: review asked after ${reviewReadySeconds.toFixed(1)} s; sending ${opts.connections * opts.requestsPerConnection} requests`,
  );

  const clients = await Promise.all(Array.from({ length: opts.connections }, () => NbdClient.connect({ path: attach.socketPath })));
  try {
    const sent = clients.flatMap((c, k) => sendMix(c, k, opts.requestsPerConnection, opts.mix));
    let answered = 0;
    for (const s of sent)
      void s.reply.then(
        () => answered++,
        () => answered++,
      );
    const heldFrom = performance.now();
    await new Promise((r) => setTimeout(r, HOLD_MS));
    const answeredWhileHeld = answered;
    const heldSeconds = (performance.now() - heldFrom) / 1000;
    opts.progress(`held: ${answeredWhileHeld} answered after ${heldSeconds.toFixed(1)} s held; enable-io`);
    const asked = performance.now();
    await customer.enableIo(volumeId);
    const returned = performance.now();
    const replies = await withTimeout(
      Promise.all(sent.map((s) => s.reply)),
      RELEASE_TIMEOUT_MS,
      'held requests not all answered after enable-io',
    );
    return figures(sent, replies, { answeredWhileHeld, heldSeconds, asked, returned, reviewReadySeconds });
  } finally {
    for (const c of clients) c.close();
    await attach.stop();
  }
}

interface Sent {
  kind: 'read' | 'write';
  reply: Promise<TimedReply>;
}

/** 4 KiB requests (alternating reads and writes, or reads only), each connection on its own blocks. */
function sendMix(client: NbdClient, connection: number, count: number, mix: HeldOptions['mix']): Sent[] {
  const payload = randomFillSync(Buffer.alloc(BLOCK));
  return Array.from({ length: count }, (_, i) => {
    const offset = ((connection * count + i) * BLOCK) % VOLUME_BYTES;
    return i % 2 === 0 || mix === 'reads'
      ? { kind: 'read', reply: client.read(offset, BLOCK) }
      : { kind: 'write', reply: client.write(offset, payload) };
  });
}

interface Timing {
  answeredWhileHeld: number;
  heldSeconds: number;
  asked: number;
  returned: number;
  reviewReadySeconds: number;
}

function figures(sent: Sent[], replies: TimedReply[], t: Timing): HeldRelease {
  const after = replies.map((r) => r.at - t.returned);
  const maxOf = (kind: Sent['kind']) => Math.max(0, ...after.filter((_, i) => sent[i]!.kind === kind));
  const sorted = [...after].sort((a, b) => a - b);
  return {
    heldRequests: sent.length,
    heldReads: sent.filter((s) => s.kind === 'read').length,
    heldWrites: sent.filter((s) => s.kind === 'write').length,
    answeredWhileHeld: t.answeredWhileHeld,
    heldSeconds: round(t.heldSeconds),
    heldReleaseMs: round(Math.max(0, ...after)),
    heldReleaseFromCallMs: round(Math.max(...replies.map((r) => r.at)) - t.asked),
    heldReleaseP50Ms: round(Math.max(0, sorted[Math.floor(sorted.length / 2)]!)),
    heldReleaseReadsMs: round(maxOf('read')),
    heldReleaseWritesMs: round(maxOf('write')),
    answeredBeforeEnableReturned: after.filter((ms) => ms < 0).length,
    enableIoCallMs: round(t.returned - t.asked),
    heldErrors: replies.filter((r) => r.errno !== 0).length,
    reviewReadySeconds: round(t.reviewReadySeconds),
  };
}

async function copyNodes(scratch: ScratchCluster, volumeId: string): Promise<string[]> {
  const { rows } = await scratch.db.query<{ node_id: string }>(
    `select node_id from replicas where volume_id = $1 and state = 'in-service'`,
    [volumeId],
  );
  if (rows.length < 2) throw new Error(`volume ${volumeId} has ${rows.length} in-service copies, not 2`);
  return rows.map((r) => r.node_id).sort();
}

async function waitForReview(scratch: ScratchCluster, volumeId: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const status = await scratch.customer.status(volumeId).catch(() => null);
    if (status && status.actions.length > 0) return;
    if (Date.now() > deadline)
      throw new Error(`volume ${volumeId} did not ask for a review within ${READY_TIMEOUT_MS / 1000} s: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
