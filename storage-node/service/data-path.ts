// Block I/O: customer reads and writes on the primary (held while the volume is paused),
// synchronous mirroring to the secondary, the secondary's fenced half, and review reads.
import { HttpError, sleep } from '../../common/http.js';
import type { BlockSpan } from '../protocol/block-range.js';
import { VolumeDeletedError } from '../store/io-gate.js';
import type { HostedVolume } from '../store/node-store.js';
import { NodeError, type NodeContext } from './context.js';

const MIRROR_RETRY_MS = 100;
const ACK_EVIDENCE_MS = 100;

export async function read(ctx: NodeContext, volumeId: string, offset: number, length: number): Promise<Buffer> {
  const hosted = ctx.hosted(volumeId);
  const span = ctx.span(hosted, offset, length);
  return hosted.gate.admit(
    async () => {
      requirePrimary(hosted);
      return hosted.volume.read(span);
    },
    length,
    'shared',
  );
}

/** Review read: no gate, so it works while I/O is held. The grant was checked by the caller. */
export async function reviewRead(ctx: NodeContext, volumeId: string, offset: number, length: number): Promise<Buffer> {
  const hosted = ctx.hosted(volumeId);
  return hosted.volume.read(ctx.span(hosted, offset, length));
}

/** A customer write: applied locally, mirrored to the secondary, then acknowledged. */
export async function write(ctx: NodeContext, volumeId: string, offset: number, payload: Buffer): Promise<number> {
  const hosted = ctx.hosted(volumeId);
  const span = ctx.span(hosted, offset, payload.length);
  return hosted.gate.admit(async () => {
    requirePrimary(hosted);
    const seq = await hosted.volume.write(span, payload);
    for (let b = span.firstBlock; b <= span.lastBlock; b++) ctx.unrepaired.get(volumeId)?.delete(b);
    await mirror(ctx, hosted, span, payload, seq);
    await noteAcknowledged(ctx, hosted);
    return seq;
  }, payload.length);
}

/**
 * Evidence for the split-brain check: one `ack` line per volume and epoch every
 * ACK_EVIDENCE_MS of acknowledging, written before the acknowledgement it stands for.
 */
async function noteAcknowledged(ctx: NodeContext, hosted: HostedVolume): Promise<void> {
  const { epoch, volumeId, peer } = hosted.volume.meta;
  const last = ctx.ackEvidence.get(volumeId);
  const now = Date.now();
  if (last && last.epoch === epoch && now - last.at < ACK_EVIDENCE_MS) return;
  ctx.ackEvidence.set(volumeId, { epoch, at: now });
  await ctx.store.logOperation('ack', volumeId, { epoch, peer: peer?.nodeId ?? null });
}

/** Makes every write answered so far durable (an NBD FLUSH or FUA), whatever NODE_FSYNC says; ordered after them, never held. */
export async function flush(ctx: NodeContext, volumeId: string): Promise<void> {
  const hosted = ctx.hosted(volumeId);
  await hosted.gate.serial(() => hosted.volume.sync());
}

/** The secondary's half of a write: applied only in sequence, at the sender's epoch. */
export async function applyMirror(
  ctx: NodeContext,
  volumeId: string,
  epoch: number,
  seq: number,
  offset: number,
  payload: Buffer,
): Promise<number> {
  const hosted = ctx.hosted(volumeId);
  const span = ctx.span(hosted, offset, payload.length);
  return hosted.gate.serial(async () => {
    const { volume } = hosted;
    if (epoch !== volume.meta.epoch || volume.meta.role !== 'secondary') {
      throw new NodeError(
        409,
        'stale-epoch',
        `mirror at epoch ${epoch} refused: copy is ${volume.meta.role} at epoch ${volume.meta.epoch}`,
      );
    }
    if (seq <= volume.writeSeq) return volume.writeSeq;
    if (volume.meta.mode === 'rebuilding') {
      await volume.write(span, payload, { sequenced: false }); // the writeSeq stays 0 until the copy is complete
      return seq;
    }
    if (seq !== volume.writeSeq + 1) throw new NodeError(409, 'sequence-gap', `expected write ${volume.writeSeq + 1}, got ${seq}`);
    return volume.write(span, payload);
  });
}

/**
 * Keeps trying the peer until it acknowledges, the control plane removes it from the volume
 * (failover or peer drop: the write is then acknowledged by this copy alone), or the volume is
 * deleted. Past the give-up time the control plane is asked to let this copy serve alone; an
 * attempt stuck on a peer that was dropped meanwhile is abandoned at once.
 */
async function mirror(ctx: NodeContext, hosted: HostedVolume, span: BlockSpan, payload: Buffer, seq: number): Promise<void> {
  const since = Date.now();
  let attempt: { peer: string; epoch: number; abort: AbortController } | null = null;
  const watch = setInterval(() => {
    const { peer, epoch, volumeId } = hosted.volume.meta;
    if (attempt && (peer?.nodeId !== attempt.peer || epoch !== attempt.epoch)) attempt.abort.abort();
    else if (peer && Date.now() - since >= ctx.peerGiveUpMs) ctx.onPeerUnreachable({ volumeId, epoch, peer: peer.nodeId });
  }, MIRROR_RETRY_MS);
  try {
    for (;;) {
      const { peer, epoch, volumeId } = hosted.volume.meta;
      if (!peer) return;
      if (!ctx.store.get(volumeId)) throw new VolumeDeletedError(volumeId);
      attempt = { peer: peer.nodeId, epoch, abort: new AbortController() };
      try {
        await ctx.peers.mirror(peer, { volumeId, epoch, seq, offset: span.offset, payload }, attempt.abort.signal);
        return;
      } catch (err) {
        if (err instanceof HttpError && err.code === 'stale-epoch') {
          throw new NodeError(409, 'not-primary', `volume ${volumeId} was failed over; this copy is fenced`);
        }
        if (!attempt.abort.signal.aborted) await sleep(MIRROR_RETRY_MS);
      }
    }
  } finally {
    clearInterval(watch);
  }
}

function requirePrimary(hosted: HostedVolume): void {
  const { role, volumeId } = hosted.volume.meta;
  if (role !== 'primary') throw new NodeError(409, 'not-primary', `this copy of ${volumeId} is not the primary`);
}
