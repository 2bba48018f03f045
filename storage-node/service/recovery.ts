// A node's part in recovery: hold every copy's I/O, scan, merge-restore the elected copy,
// repair it late from a twin, serve verified blocks to a peer, and resume service.
import { BLOCK_SIZE, type RestoredReplica, type ScanReport, type ScannedReplica } from '../../common/types.js';
import { crc32c } from '../protocol/crc32c.js';
import { mergeRestore } from '../store/merge.js';
import type { VolumeDigest } from '../contract.js';
import type { HostedVolume } from '../store/node-store.js';
import { NodeError, type NodeContext } from './context.js';

/** Holds every hosted volume's I/O; the start of a node's recovery. */
export async function holdAll(ctx: NodeContext): Promise<void> {
  ctx.recovering = true;
  ctx.verified.clear();
  for (const [volumeId, hosted] of [...ctx.store.volumes]) {
    hosted.gate.pause();
    await unlessDeleted(ctx, volumeId, hosted, () => hosted.volume.saveMeta({ ioState: 'paused' }));
  }
}

export async function scan(ctx: NodeContext, crashed: boolean): Promise<ScanReport> {
  const replicas: ScannedReplica[] = [];
  for (const [volumeId, hosted] of [...ctx.store.volumes]) {
    const verified = await unlessDeleted(ctx, volumeId, hosted, () => hosted.volume.verify());
    if (!verified) continue;
    ctx.verified.set(volumeId, verified);
    replicas.push(ctx.describe(hosted, verified));
  }
  const scannedAt = new Date().toISOString();
  if (ctx.recovering) ctx.recoveryScanAt = scannedAt;
  return { nodeId: ctx.nodeId, scannedAt, crashed, replicas };
}

/**
 * A deletion the control plane ordered may remove a copy while the node holds or scans its
 * copies (a network loss noticed as a deletion arrives): that copy is simply no longer there.
 */
async function unlessDeleted<T>(ctx: NodeContext, volumeId: string, hosted: HostedVolume, step: () => Promise<T>): Promise<T | null> {
  if (ctx.store.get(volumeId) !== hosted) return null;
  try {
    return await step();
  } catch (err) {
    if (ctx.store.get(volumeId) !== hosted) return null;
    throw err;
  }
}

/**
 * Ends the node's recovery. `scannedAt` names the scan of the incident that asks: an older incident
 * (the node restarted, or was declared down again, and scanned anew since) is refused, so only the
 * newest incident puts the node back in service.
 */
export async function resumeService(ctx: NodeContext, scannedAt?: string): Promise<{ recovering: boolean }> {
  if (ctx.recovering && scannedAt !== undefined && scannedAt !== ctx.recoveryScanAt) {
    throw new NodeError(
      409,
      'superseded-scan',
      `the node is recovering from a newer scan (${ctx.recoveryScanAt ?? 'not yet taken'}), not ${scannedAt}`,
    );
  }
  if (ctx.recovering) await ctx.store.logOperation('resume-service', '-');
  ctx.recovering = false;
  return { recovering: false };
}

/**
 * Brings the elected copy back read-only — sole member, primary, I/O held for review — as
 * the merge of its base snapshot and its verified dirty blocks, bad blocks repaired from
 * `repairs` (peer data) or the snapshot where they can be.
 */
export async function restore(ctx: NodeContext, volumeId: string, repairs: Map<number, Buffer>): Promise<RestoredReplica> {
  const startedAt = new Date().toISOString();
  const hosted = ctx.hosted(volumeId);
  hosted.gate.pause();
  await hosted.volume.saveMeta({ mode: 'restored', ioState: 'paused', role: 'primary', peer: null });
  return ctx.join(`restore:${volumeId}`, () =>
    hosted.gate.serial(async () => {
      const { volume } = hosted;
      // I/O has been held since the recovery scan, so its verification still holds.
      const scanned = ctx.verified.get(volumeId) ?? (await volume.verify());
      const base = volume.meta.baseSnapshotId ? await ctx.snapshots.getManifest(volumeId, volume.meta.baseSnapshotId) : null;
      const merged = await mergeRestore(volume, ctx.snapshots, base ?? (volume.meta.baseSnapshotId ? 'lost' : 'zeros'), scanned, repairs);
      ctx.verified.set(volumeId, merged);
      ctx.unrepaired.set(volumeId, new Set(merged.badBlocks));
      const { repairedFromPeer, repairedFromSnapshot, blocksFromBase } = merged;
      await ctx.store.logOperation('restore', volumeId, {
        writeSeq: volume.writeSeq,
        startedAt,
        repairedFromPeer,
        repairedFromSnapshot,
        unrecoverable: merged.badBlocks.length,
      });
      return {
        ...ctx.describe(hosted, merged),
        repairedFromPeer,
        repairedFromSnapshot,
        blocksFromBase,
        unrecoverableBlocks: merged.badBlocks,
        base: base ? { snapshotId: base.snapshotId, writeSeq: base.writeSeq, digest: base.digest } : null,
      };
    }),
  );
}

/**
 * A late repair, after a decision: each block a restore could not repair, from a twin that
 * returned since, unless a write covered the block meanwhile (then the twin's is older).
 */
export async function repair(ctx: NodeContext, volumeId: string, repairs: Map<number, Buffer>): Promise<{ repaired: number[] }> {
  const hosted = ctx.hosted(volumeId);
  return hosted.gate.serial(async () => {
    const open = ctx.unrepaired.get(volumeId) ?? new Set<number>();
    const repaired = [...repairs.keys()].filter((b) => open.has(b)).sort((a, b) => a - b);
    for (const b of repaired) {
      await hosted.volume.writeBlocks(b, repairs.get(b)!);
      await hosted.volume.markDirty(b, b); // differs from any snapshot taken while it was bad
      open.delete(b);
    }
    await hosted.volume.sync();
    if (repaired.length > 0) await ctx.store.logOperation('repair', volumeId, { blocks: repaired });
    return { repaired };
  });
}

/** Blocks for a peer's repair, only when every one's CRC verifies. */
export async function verifiedBlocks(ctx: NodeContext, volumeId: string, first: number, count: number): Promise<Buffer> {
  const hosted = ctx.hosted(volumeId);
  const span = ctx.span(hosted, first * BLOCK_SIZE, count * BLOCK_SIZE);
  return hosted.gate.serial(async () => {
    const bytes = await hosted.volume.read(span);
    for (let b = 0; b < count; b++) {
      if (crc32c(bytes, b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE) !== hosted.volume.crcOf(first + b)) {
        throw new NodeError(409, 'bad-block', `block ${first + b} of ${volumeId} fails its CRC on ${ctx.nodeId}`);
      }
    }
    return bytes;
  });
}

export async function digest(ctx: NodeContext, volumeId: string): Promise<VolumeDigest> {
  const hosted = ctx.hosted(volumeId);
  const { epoch } = hosted.volume.meta;
  return hosted.gate.serial(async () => ({ digest: await hosted.volume.digest(), epoch, writeSeq: hosted.volume.writeSeq }));
}
