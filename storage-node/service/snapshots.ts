// Copies and the snapshot store: creating a copy (empty, or filled from a snapshot) and
// taking an incremental snapshot of one.
import { BLOCK_SIZE, type PeerRef, type ReplicaRole, type ScannedReplica } from '../../common/types.js';
import { summarize, type SnapshotManifest, type SnapshotSummary } from '../../snapshot-store/manifest.js';
import type { HostedVolume } from '../store/node-store.js';
import { captureSnapshot, hydrateFromSnapshot } from '../store/snapshot-io.js';
import { NodeError, type NodeContext } from './context.js';

export interface CreateVolumeInput {
  volumeId: string;
  sizeBytes: number;
  role: ReplicaRole;
  epoch: number;
  peer: PeerRef | null;
  /** Fill the new copy from this snapshot. */
  source?: { volumeId: string; snapshotId: string };
  /** A new secondary that a primary will rebuild: accepts mirrored writes at any sequence number. */
  rebuilding?: boolean;
}

export async function createVolume(ctx: NodeContext, input: CreateVolumeInput): Promise<ScannedReplica> {
  const existing = ctx.store.get(input.volumeId);
  const source = input.source ? await ctx.snapshots.getManifest(input.source.volumeId, input.source.snapshotId) : null;
  if (input.source && (!source || source.sizeBytes !== input.sizeBytes)) {
    throw new NodeError(
      404,
      'snapshot-not-found',
      `snapshot ${input.source.snapshotId} of ${input.source.volumeId} (${input.sizeBytes} bytes) is not in the store`,
    );
  }
  if (existing) return source ? hydrate(ctx, existing, source) : ctx.describe(existing);
  if (ctx.recovering) throw new NodeError(503, 'node-recovering', 'node is recovering; no new volumes yet');
  if (input.sizeBytes % BLOCK_SIZE !== 0) throw new NodeError(400, 'bad-size', `size must be a multiple of ${BLOCK_SIZE}`);
  if (ctx.store.usedBytes() + input.sizeBytes > ctx.capacityBytes) {
    throw new NodeError(507, 'insufficient-capacity', `node ${ctx.nodeId} has no room for ${input.sizeBytes} bytes`);
  }
  const { volumeId, sizeBytes, role, epoch, peer } = input;
  const hosted = await ctx.store.create({
    volumeId,
    sizeBytes,
    role,
    epoch,
    peer,
    ioState: 'enabled',
    mode: input.rebuilding ? 'rebuilding' : 'normal',
    createdAt: new Date().toISOString(),
    baseSnapshotId: null,
  });
  await ctx.store.logOperation('create', volumeId, {
    role,
    epoch,
    source: input.source?.snapshotId ?? null,
    rebuilding: !!input.rebuilding,
  });
  return source ? hydrate(ctx, hosted, source) : ctx.describe(hosted);
}

/** Fills a new copy from a snapshot; a copy that a crash left half-filled is filled again. */
async function hydrate(ctx: NodeContext, hosted: HostedVolume, manifest: SnapshotManifest): Promise<ScannedReplica> {
  const { volume } = hosted;
  if (volume.meta.baseSnapshotId === manifest.snapshotId || volume.writeSeq > 0) return ctx.describe(hosted);
  await ctx.join(`hydrate:${volume.meta.volumeId}`, () => hosted.gate.serial(() => hydrateFromSnapshot(volume, ctx.snapshots, manifest)));
  return ctx.describe(hosted);
}

/**
 * An incremental snapshot to the durable store; writes wait meanwhile (held, not failed).
 * A copy with unrecoverable blocks is snapshotted as it is (an archive must not fail on
 * them); its events already list those blocks.
 */
export async function snapshot(ctx: NodeContext, volumeId: string, snapshotId: string): Promise<SnapshotSummary> {
  const hosted = ctx.hosted(volumeId);
  return ctx.join(`snapshot:${snapshotId}`, () =>
    hosted.gate.serial(async () => {
      const manifest = await captureSnapshot(hosted.volume, ctx.snapshots, snapshotId);
      await ctx.store.logOperation('snapshot', volumeId, {
        snapshotId,
        writeSeq: manifest.writeSeq,
        uploadedChunks: manifest.uploadedChunks,
      });
      return summarize(manifest);
    }),
  );
}
