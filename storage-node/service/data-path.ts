// Block I/O: customer reads and writes on the primary (held while the volume is paused), the
// secondary's fenced half of the mirror, and review reads.
import type { MirroredWrite } from '../protocol/replication.js';
import type { HostedVolume } from '../store/node-store.js';
import { NodeError, type NodeContext } from './context.js';
import { WritePipeline } from './write-pipeline.js';

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

/**
 * A customer write: applied here in order, then acknowledged once a sync of this copy and the
 * peer's answer to a mirror batch both cover it (service/write-pipeline.ts).
 */
export async function write(ctx: NodeContext, volumeId: string, offset: number, payload: Buffer): Promise<number> {
  const hosted = ctx.hosted(volumeId);
  const span = ctx.span(hosted, offset, payload.length);
  return hosted.gate
    .admitWrite(
      async () => {
        requirePrimary(hosted);
        const pipeline = pipelineOf(ctx, hosted);
        const seq = await hosted.volume.apply(span, payload);
        for (let b = span.firstBlock; b <= span.lastBlock; b++) ctx.unrepaired.get(volumeId)?.delete(b);
        return { seq, acknowledged: pipeline.track({ seq, offset, payload }) };
      },
      async ({ acknowledged }) => {
        await acknowledged;
        await noteAcknowledged(ctx, hosted);
      },
      payload.length,
    )
    .then(({ seq }) => seq);
}

/** The volume's pipeline, or a new one from its writeSeq once the last has nothing in flight. */
function pipelineOf(ctx: NodeContext, hosted: HostedVolume): WritePipeline {
  let pipeline = ctx.pipelines.get(hosted);
  if (!pipeline || pipeline.idle) {
    pipeline = new WritePipeline(ctx, hosted, ctx.commitCounts);
    ctx.pipelines.set(hosted, pipeline);
  }
  return pipeline;
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

/** The secondary's half of a batch of writes: applied only in sequence, at the sender's epoch, then synced once. */
export async function applyMirror(ctx: NodeContext, volumeId: string, epoch: number, writes: readonly MirroredWrite[]): Promise<number> {
  const hosted = ctx.hosted(volumeId);
  const spans = writes.map((w) => ctx.span(hosted, w.offset, w.payload.length));
  return hosted.gate.serial(async () => {
    const { volume } = hosted;
    if (epoch !== volume.meta.epoch || volume.meta.role !== 'secondary') {
      throw new NodeError(
        409,
        'stale-epoch',
        `mirror at epoch ${epoch} refused: copy is ${volume.meta.role} at epoch ${volume.meta.epoch}`,
      );
    }
    for (const [i, w] of writes.entries()) {
      if (w.seq <= volume.writeSeq) continue;
      if (volume.meta.mode === 'rebuilding') {
        await volume.apply(spans[i]!, w.payload, { sequenced: false }); // the writeSeq stays 0 until the copy is complete
        continue;
      }
      if (w.seq !== volume.writeSeq + 1) throw new NodeError(409, 'sequence-gap', `expected write ${volume.writeSeq + 1}, got ${w.seq}`);
      await volume.apply(spans[i]!, w.payload);
    }
    await volume.syncWrites();
    return volume.meta.mode === 'rebuilding' ? writes[writes.length - 1]!.seq : volume.writeSeq;
  });
}

function requirePrimary(hosted: HostedVolume): void {
  const { role, volumeId } = hosted.volume.meta;
  if (role !== 'primary') throw new NodeError(409, 'not-primary', `this copy of ${volumeId} is not the primary`);
}
