// A copy's place in its volume: role, epoch and peer as the control plane sets them, its I/O
// state, enabling after a decision, deletion, and the status it reports.
import { configureRefusal } from '../../common/rules/failover.js';
import type { IoState, PeerRef, ReplicaRole, ScannedReplica } from '../../common/types.js';
import type { VolumeStatus } from '../contract.js';
import { NodeError, type NodeContext } from './context.js';

export interface ConfigInput {
  role: ReplicaRole;
  epoch: number;
  peer: PeerRef | null;
}

/**
 * Membership change from the control plane; never goes back to an older epoch. A recovering
 * node, or a copy held for its volume's recovery, refuses a promotion (`configureRefusal`).
 */
export async function configure(
  ctx: NodeContext,
  volumeId: string,
  input: ConfigInput,
  { failover = false }: { failover?: boolean } = {},
): Promise<ScannedReplica> {
  const copy = ctx.store.get(volumeId)?.volume.meta;
  const refusal = configureRefusal({ nodeRecovering: ctx.recovering, failover, scanned: ctx.verified.has(volumeId), copy });
  if (refusal === 'node-recovering')
    throw new NodeError(503, 'node-recovering', `node ${ctx.nodeId} is recovering; its copies cannot take over`);
  if (refusal === 'copy-recovering') {
    throw new NodeError(
      409,
      'copy-recovering',
      `the copy of ${volumeId} on ${ctx.nodeId} is held for its volume's recovery; it cannot take over in a failover`,
    );
  }
  return applyConfig(ctx, volumeId, input);
}

async function applyConfig(ctx: NodeContext, volumeId: string, input: ConfigInput): Promise<ScannedReplica> {
  const hosted = ctx.hosted(volumeId);
  const { meta } = hosted.volume;
  if (input.epoch < meta.epoch) {
    throw new NodeError(409, 'stale-epoch', `config at epoch ${input.epoch} is older than the copy's epoch ${meta.epoch}`);
  }
  await hosted.volume.saveMeta({ role: input.role, epoch: input.epoch, peer: input.peer });
  await ctx.store.logOperation('configure', volumeId, { role: input.role, epoch: input.epoch, peer: input.peer?.nodeId ?? null });
  return ctx.describe(hosted);
}

export async function setIo(ctx: NodeContext, volumeId: string, state: IoState): Promise<ScannedReplica> {
  const hosted = ctx.hosted(volumeId);
  if (state === 'enabled') ctx.verified.delete(volumeId);
  await hosted.volume.saveMeta({ ioState: state });
  if (state === 'enabled') hosted.gate.open();
  else hosted.gate.pause();
  await ctx.store.logOperation(state === 'enabled' ? 'resume-io' : 'pause-io', volumeId);
  return ctx.describe(hosted);
}

/**
 * After a decision: the copy serves again (with `peer`: mirroring to it) as primary at the new
 * epoch; held I/O is released in order. A recovering node refuses, as it refuses any membership
 * change: its scan went to its newest incident, and a copy moved after it would be judged by a
 * scan it no longer matches (chaos: a copy enabled at epoch 6 on a node that had restarted and
 * scanned it at epoch 5 was then classified stale and deleted).
 */
export async function enable(ctx: NodeContext, volumeId: string, epoch: number, peer: PeerRef | null): Promise<ScannedReplica> {
  if (ctx.recovering) throw new NodeError(503, 'node-recovering', `node ${ctx.nodeId} is recovering; its copies cannot be enabled yet`);
  await applyConfig(ctx, volumeId, { role: 'primary', epoch, peer });
  const hosted = ctx.hosted(volumeId);
  await hosted.volume.saveMeta({ mode: 'normal' });
  return setIo(ctx, volumeId, 'enabled');
}

export async function deleteVolume(ctx: NodeContext, volumeId: string): Promise<{ deleted: boolean }> {
  ctx.verified.delete(volumeId);
  ctx.unrepaired.delete(volumeId);
  const deleted = await ctx.store.delete(volumeId);
  if (deleted) await ctx.store.logOperation('delete', volumeId);
  return { deleted };
}

export function status(ctx: NodeContext, volumeId: string): VolumeStatus {
  const hosted = ctx.hosted(volumeId);
  const { meta } = hosted.volume;
  return {
    ...meta,
    peer: meta.peer?.nodeId ?? null,
    writeSeq: hosted.volume.writeSeq,
    heldRequests: hosted.gate.heldCount,
    dirtyBlocks: hosted.volume.dirty.count(),
    baseSnapshotId: meta.baseSnapshotId ?? null,
  };
}
