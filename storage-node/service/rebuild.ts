// Rebuilding a new secondary, both halves: the primary copies ranges (with their stored CRCs)
// and finally its writeSeq, dirty bitmap and base; the new copy applies them at its epoch.
import { HttpError } from '../../common/http.js';
import { BLOCK_SIZE, type PeerRef, type ScannedReplica } from '../../common/types.js';
import type { RebuildTarget } from '../contract.js';
import type { HostedVolume } from '../store/node-store.js';
import { ZERO_BLOCK_CRC } from '../store/volume.js';
import { NodeError, type NodeContext } from './context.js';

/**
 * Step 2 of 3 (step 1 makes the new copy this copy's peer, so writes from then on are
 * mirrored): copies one range, ordered with writes so a copied range never overwrites a newer
 * mirrored write. All-zero ranges are skipped (the new copy is sparse).
 */
export async function copyRange(
  ctx: NodeContext,
  volumeId: string,
  target: RebuildTarget,
  offset: number,
  length: number,
): Promise<{ copiedBytes: number }> {
  const hosted = ctx.hosted(volumeId);
  const span = ctx.span(hosted, offset, length);
  return hosted.gate.serial(async () => {
    const peer = rebuildPeer(hosted, target);
    const bytes = await hosted.volume.read(span);
    const crcs = hosted.volume.crcsOf(span.firstBlock, span.lastBlock - span.firstBlock + 1);
    if (bytes.every((b) => b === 0) && crcs.every((c) => c === ZERO_BLOCK_CRC)) return { copiedBytes: 0 };
    await toPeer(peer, () => ctx.peers.rebuildRange(peer, { volumeId, epoch: hosted.volume.meta.epoch, offset, crcs, payload: bytes }));
    return { copiedBytes: bytes.length };
  });
}

/** Step 3: the new secondary takes this copy's writeSeq, dirty bitmap and base snapshot, and serves. */
export async function finishRebuild(ctx: NodeContext, volumeId: string, target: RebuildTarget): Promise<{ writeSeq: number }> {
  const hosted = ctx.hosted(volumeId);
  return hosted.gate.serial(async () => {
    const peer = rebuildPeer(hosted, target);
    const { volume } = hosted;
    const finish = { volumeId, epoch: volume.meta.epoch, writeSeq: volume.writeSeq, dirty: Buffer.from(volume.dirty.bytes) };
    await toPeer(peer, () => ctx.peers.rebuildFinish(peer, { ...finish, baseSnapshotId: volume.meta.baseSnapshotId ?? null }));
    return { writeSeq: volume.writeSeq };
  });
}

/** Socket-level failures of a request to a peer: its process or host is gone, or the network between. */
const UNREACHABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Did a request to a peer fail because the peer is unreachable (not because it refused)? */
export function peerUnreachable(err: unknown): boolean {
  if (err instanceof HttpError) return err.status === 503; // answering, but not serving (starting, not registered)
  if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') return true;
  const cause = (err as { cause?: { code?: string; cause?: { code?: string } } })?.cause;
  const code = cause?.code ?? cause?.cause?.code;
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

/**
 * A rebuild step's call to the target. A target that died or cannot be reached is an expected
 * condition, answered 503 `peer-unreachable` (the activity retries, then abandons the copy); any
 * other failure is left as it is.
 */
async function toPeer<T>(peer: PeerRef, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!peerUnreachable(err)) throw err;
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new NodeError(503, 'peer-unreachable', `rebuild target ${peer.nodeId} is unreachable (${cause})`);
  }
}

/** The copy's peer, if it is the rebuild's target at the rebuild's epoch (a stale rebuild must not touch a newer one's). */
function rebuildPeer(hosted: HostedVolume, target: RebuildTarget): PeerRef {
  const { peer, role, volumeId, epoch } = hosted.volume.meta;
  if (role !== 'primary' || peer?.nodeId !== target.nodeId || epoch !== target.epoch) {
    throw new NodeError(
      409,
      'not-rebuilding-target',
      `this copy of ${volumeId} does not rebuild ${target.nodeId} at epoch ${target.epoch}`,
    );
  }
  return peer;
}

/** The new secondary's side: a copied range at the volume's epoch, with the source's stored CRCs (a block bad there stays bad here). */
export async function applyRebuildRange(
  ctx: NodeContext,
  volumeId: string,
  epoch: number,
  offset: number,
  payload: Buffer,
  crcs: Uint32Array,
): Promise<void> {
  const hosted = rebuilding(ctx, volumeId, epoch);
  const span = ctx.span(hosted, offset, payload.length);
  if (span.offset % BLOCK_SIZE !== 0 || payload.length % BLOCK_SIZE !== 0 || crcs.length !== payload.length / BLOCK_SIZE) {
    throw new NodeError(400, 'bad-rebuild-range', 'a rebuild range is whole blocks with one CRC each');
  }
  await hosted.gate.serial(() => hosted.volume.writeBlocks(span.firstBlock, payload, crcs));
}

export interface RebuildCompletion {
  epoch: number;
  writeSeq: number;
  dirty: Uint8Array;
  baseSnapshotId: string | null;
}

export async function completeRebuild(ctx: NodeContext, volumeId: string, input: RebuildCompletion): Promise<ScannedReplica> {
  const hosted = ctx.store.get(volumeId);
  if (hosted?.volume.meta.mode === 'normal' && hosted.volume.meta.epoch === input.epoch) return ctx.describe(hosted);
  const target = rebuilding(ctx, volumeId, input.epoch);
  await target.gate.serial(async () => {
    await target.volume.resetDirty(input.dirty);
    await target.volume.setWriteSeq(input.writeSeq);
    await target.volume.saveMeta({ mode: 'normal', baseSnapshotId: input.baseSnapshotId });
  });
  await ctx.store.logOperation('rebuilt', volumeId, { writeSeq: input.writeSeq });
  return ctx.describe(target);
}

/**
 * The copy a rebuild writes to. Also a finished one: a range is read under the source's
 * write order, so writing it again (a retried activity) never moves data backwards.
 */
function rebuilding(ctx: NodeContext, volumeId: string, epoch: number): HostedVolume {
  const hosted = ctx.hosted(volumeId);
  const { mode, role, epoch: own } = hosted.volume.meta;
  if (mode === 'restored' || role !== 'secondary' || epoch !== own) {
    throw new NodeError(409, 'not-rebuilding', `copy of ${volumeId} is a ${mode} ${role} at epoch ${own}, not rebuilding at ${epoch}`);
  }
  return hosted;
}
