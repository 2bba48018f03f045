// Activities that act on storage nodes. Every call is idempotent on the node's side.
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { deletionView, mayDeleteCopy, type DeletionCaller } from '../common/rules/deletion.js';
import { HttpError } from '../common/http.js';
import { isVolumeRecoveryOf } from '../common/messages.js';
import { MEMBER_STATES } from '../common/states.js';
import { BLOCK_SIZE, type RestoredReplica } from '../common/types.js';
import type { SnapshotSummary } from '../snapshot-store/manifest.js';
import type { StorageNodeApi } from '../storage-node/client.js';
import type { BlockRepair } from '../storage-node/contract.js';
import type { Db } from '../api/repositories/db.js';
import { getVolume, replicasOf, setReplicaState } from '../api/repositories/volumes.js';
import type { NodeClient } from '../api/node-client.js';

type RepairFrom = { nodeId: string; blocks: number[] }[];

/** The activity's logger: the worker's pino, with workflowId, activityType and the rest of its context. */
const log = () => Context.current().log;

export interface CopyRef {
  nodeId: string;
  volumeId: string;
}

/** Built from the workflow run and the activity id, so a retried activity repeats the same key. */
function idempotencyKey(): string {
  const { workflowExecution, activityId } = Context.current().info;
  return `${workflowExecution?.workflowId}/${workflowExecution?.runId}/${activityId}`;
}

/** Is the activity run by a recovery of this volume, which decides for the copies it holds? */
function runByOwnRecovery(volumeId: string): boolean {
  const { workflowType, workflowExecution } = Context.current().info;
  return workflowType === 'volumeRecovery' && isVolumeRecoveryOf(workflowExecution?.workflowId ?? '', volumeId);
}

/** A volume recovery of this volume decides for the copies it holds; every other workflow asks as `other`. */
function deletionCaller(volumeId: string): DeletionCaller {
  return runByOwnRecovery(volumeId) ? 'volume-recovery' : 'other';
}

/** Heartbeats while a long node call runs, so a crashed worker's attempt is noticed in seconds. */
async function whileHeartbeating<T>(work: Promise<T>, everyMs = 2000): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** `rebuildRangeBytes`: one rebuild step, large enough to stream, small enough to hold writes only briefly. */
export function createStorageNodeActivities(db: Db, client: NodeClient, rebuildRangeBytes: number) {
  /** Each planned block from its peer, only if its CRC verifies there (the peer refuses otherwise). */
  async function fetchRepairs(volumeId: string, repairFrom: RepairFrom): Promise<BlockRepair[]> {
    const repairs: BlockRepair[] = [];
    for (const peer of repairFrom) {
      const twin = await client.node(peer.nodeId);
      for (const block of peer.blocks) {
        const data = await twin.verifiedBlocks(volumeId, block, 1).catch(() => null);
        if (data?.length === BLOCK_SIZE) repairs.push({ block, data: data.toString('base64') });
      }
    }
    return repairs;
  }

  /**
   * A rebuild copies only from the primary that serves the volume, or — for a transfer — from the
   * copy its own recovery restored: never from a copy a volume recovery holds for another workflow
   * (its node failed again meanwhile), which only that recovery decides for (chaos F2).
   */
  async function assertServingSource(volumeId: string, source: string): Promise<void> {
    const copy = (await replicasOf(db, volumeId)).find((r) => r.nodeId === source);
    const serving = copy?.state === 'in-service' || (copy?.state === 'restored' && runByOwnRecovery(volumeId));
    if (!serving || copy?.role !== 'primary') {
      throw ApplicationFailure.nonRetryable(
        `${volumeId} on ${source} is ${copy ? `${copy.role}, ${copy.state}` : 'gone'}: not a serving primary to rebuild from`,
        'SourceNotServing',
      );
    }
  }

  /** The node's client; every call carries this activity's idempotency key. */
  const node = (nodeId: string, timeoutMs?: number): Promise<StorageNodeApi> =>
    client.node(nodeId, { idempotencyKey: idempotencyKey(), timeoutMs });
  return {
    /**
     * Merge-restores the elected copy read-only with I/O held. The bad blocks planned from a peer
     * are fetched first, each only if its CRC verifies there; the node decides the rest.
     */
    async restoreCopy({ nodeId, volumeId, repairFrom }: CopyRef & { repairFrom: RepairFrom }): Promise<RestoredReplica> {
      const repairs = await fetchRepairs(volumeId, repairFrom);
      const restored = await whileHeartbeating((await node(nodeId)).restore(volumeId, repairs));
      const { epoch, writeSeq, repairedFromPeer, repairedFromSnapshot, unrecoverableBlocks } = restored;
      log().info(`restored ${volumeId} on ${nodeId} read-only, I/O held`, {
        nodeId,
        volumeId,
        epoch,
        writeSeq,
        repairedFromPeer,
        repairedFromSnapshot,
        unrecoverableBlocks: unrecoverableBlocks.length,
      });
      return restored;
    },

    /** After a decision: the blocks the restore could not repair, from a twin that returned late. */
    async repairCopy({ nodeId, volumeId, repairFrom }: CopyRef & { repairFrom: RepairFrom }): Promise<{ repaired: number[] }> {
      const repairs = await fetchRepairs(volumeId, repairFrom);
      return (await node(nodeId)).repair(volumeId, repairs);
    },

    /** An incremental snapshot of the copy to the snapshot store; a retry joins the running one. */
    async snapshotCopy({ nodeId, volumeId, snapshotId }: CopyRef & { snapshotId: string }): Promise<SnapshotSummary> {
      return whileHeartbeating((await node(nodeId)).snapshot(volumeId, snapshotId));
    },

    /**
     * Rebuilds a new copy on `target` from `source`: the target is created empty and made the
     * source's secondary (writes are mirrored from then on), the data is copied range by range,
     * and the target takes the source's writeSeq. Progress is heartbeated; a retry after a
     * worker crash resumes from the last range the heartbeat recorded.
     */
    async rebuildCopy(input: {
      volumeId: string;
      source: string;
      target: string;
      epoch: number;
      sizeBytes: number;
    }): Promise<{ copiedBytes: number; resumedFrom: number }> {
      const { volumeId, source, target, epoch, sizeBytes } = input;
      await assertServingSource(volumeId, source);
      const [from, to] = [await node(source), await node(target)];
      await to.createVolume(volumeId, { sizeBytes, role: 'secondary', epoch, peer: null, rebuilding: true });
      await from.configure(volumeId, { role: 'primary', epoch, peer: await client.peerRef(target, volumeId, epoch) });
      const rebuilds = { nodeId: target, epoch };
      const resumed = (Context.current().info.heartbeatDetails as { offset?: number; copiedBytes?: number } | undefined) ?? {};
      let copiedBytes = resumed.copiedBytes ?? 0;
      const resumedFrom = resumed.offset ?? 0;
      for (let offset = resumedFrom; offset < sizeBytes; offset += rebuildRangeBytes) {
        const length = Math.min(rebuildRangeBytes, sizeBytes - offset);
        const done = await from.copyRange(volumeId, rebuilds, offset, length);
        copiedBytes += done.copiedBytes;
        heartbeat({ offset: offset + length, copiedBytes });
      }
      await assertServingSource(volumeId, source);
      await from.finishRebuild(volumeId, rebuilds);
      log().info(`rebuilt ${volumeId} on ${target} from ${source}`, { nodeId: target, volumeId, source, epoch, copiedBytes, resumedFrom });
      return { copiedBytes, resumedFrom };
    },

    /** Re-checks, right before deleting, that this copy cannot be the last one with unique data. */
    async deleteCopy({ nodeId, volumeId, reason }: CopyRef & { reason: string }): Promise<{ deleted: boolean }> {
      const volume = await getVolume(db, volumeId);
      const replicas = volume ? await replicasOf(db, volumeId) : [];
      const copies = deletionView(replicas);
      const gone = !volume || volume.state === 'deleted' || volume.state === 'archived';
      if (!mayDeleteCopy(gone, nodeId, copies, deletionCaller(volumeId))) {
        log().warn(`deletion of ${volumeId} on ${nodeId} refused: it may be the last copy with its data`, { nodeId, volumeId, reason });
        throw ApplicationFailure.nonRetryable(
          `refusing to delete ${volumeId} on ${nodeId} (${reason}): it may be the last copy with its data`,
          'UnsafeDeletion',
        );
      }
      const result = await (await node(nodeId)).delete(volumeId);
      if (volume) await setReplicaState(db, volumeId, nodeId, 'deleted');
      log().info(`deleted the copy of ${volumeId} on ${nodeId} (${reason})`, { nodeId, volumeId, reason });
      return result;
    },

    /** Makes a copy the sole primary at `epoch`; the node refuses an epoch older than its own. */
    async promoteCopy({ nodeId, volumeId, epoch }: CopyRef & { epoch: number }): Promise<void> {
      await (await node(nodeId, 5000)).configure(volumeId, { role: 'primary', epoch, peer: null }, { failover: true });
      log().info(`promoted ${volumeId} on ${nodeId} to sole primary at epoch ${epoch}`, { nodeId, volumeId, epoch });
    },

    /**
     * A copy gone from its node is resumed only if it is still a member: one that left meanwhile
     * (a failover and a rebuild that replaced it while its node rejoined) has nothing to resume
     * (chaos seed 61207 scenario 17 retried this for ever).
     */
    async resumeCopyIo({ nodeId, volumeId }: CopyRef): Promise<void> {
      try {
        await (await node(nodeId)).setIo(volumeId, 'enabled');
      } catch (err) {
        if (!(err instanceof HttpError && err.status === 404)) throw err;
        const copy = (await replicasOf(db, volumeId)).find((r) => r.nodeId === nodeId);
        if (copy && MEMBER_STATES.includes(copy.state)) throw err;
        log().warn(`the copy of ${volumeId} on ${nodeId} left the volume (${copy?.state ?? 'no record'}) before its I/O was resumed`, {
          nodeId,
          volumeId,
        });
      }
    },

    /** A copy identical to the restored one becomes its secondary at `epoch` (before the primary is enabled). */
    async joinAsSecondary({ nodeId, volumeId, epoch }: CopyRef & { epoch: number }): Promise<void> {
      const copy = await node(nodeId);
      await copy.configure(volumeId, { role: 'secondary', epoch, peer: null });
      await copy.setIo(volumeId, 'enabled');
    },

    /**
     * The decided copy serves again as primary at `epoch`; its held I/O is released in order.
     * With `secondary` (which joined at `epoch` already), every write released is mirrored to it.
     */
    async enableCopy({ nodeId, volumeId, epoch, secondary }: CopyRef & { epoch: number; secondary?: string }): Promise<void> {
      const peer = secondary ? await client.peerRef(secondary, volumeId, epoch) : null;
      await (await node(nodeId)).enable(volumeId, epoch, peer);
      log().info(`I/O enabled on ${volumeId} at ${nodeId}, epoch ${epoch}`, { nodeId, volumeId, epoch, secondary });
    },
  };
}
