// Activities that act on storage nodes. Every call is idempotent on the node's side.
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { mayDeleteCopy } from '../common/rules/deletion.js';
import type { ScannedReplica } from '../common/types.js';
import type { Db } from '../api/repositories/db.js';
import { markInService } from '../api/repositories/recoveries.js';
import { setNodeState } from '../api/repositories/nodes.js';
import { getVolume, isHealthy, isMember, replicasOf, setReplicaState } from '../api/repositories/volumes.js';
import type { NodeClient } from '../api/node-client.js';

export interface CopyRef {
  nodeId: string;
  volumeId: string;
}

/** Built from the workflow run and the activity id, so a retried activity repeats the same key. */
function idempotencyKey(): string {
  const { workflowExecution, activityId } = Context.current().info;
  return `${workflowExecution?.workflowId}/${workflowExecution?.runId}/${activityId}`;
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

export function createStorageNodeActivities(db: Db, client: NodeClient) {
  const nodes = {
    peerRef: (nodeId: string) => client.peerRef(nodeId),
    call: <T>(nodeId: string, path: string, opts: Parameters<NodeClient['call']>[2] = {}) =>
      client.call<T>(nodeId, path, { ...opts, idempotencyKey: idempotencyKey() }),
  };
  return {
    /** Brings the elected copy back read-only with I/O held; returns its fresh scan. */
    async restoreCopy({ nodeId, volumeId }: CopyRef): Promise<ScannedReplica> {
      return whileHeartbeating(nodes.call(nodeId, `/v1/volumes/${volumeId}/restore`, { method: 'POST', timeoutMs: 10 * 60_000 }));
    },

    /** Re-checks, right before deleting, that this copy cannot be the last one with unique data. */
    async deleteCopy({ nodeId, volumeId, reason }: CopyRef & { reason: string }): Promise<{ deleted: boolean }> {
      const volume = await getVolume(db, volumeId);
      const replicas = volume ? await replicasOf(db, volumeId) : [];
      const copies = replicas.map((r) => ({ nodeId: r.nodeId, member: isMember(r), healthy: isHealthy(r), restored: r.state === 'restored' }));
      if (!mayDeleteCopy(!volume || volume.state === 'deleted', nodeId, copies)) {
        throw ApplicationFailure.nonRetryable(`refusing to delete ${volumeId} on ${nodeId} (${reason}): it may be the last copy with its data`, 'UnsafeDeletion');
      }
      const result = await nodes.call<{ deleted: boolean }>(nodeId, `/v1/volumes/${volumeId}`, { method: 'DELETE' });
      if (volume) await setReplicaState(db, volumeId, nodeId, 'deleted');
      return result;
    },

    /** Makes a copy the sole primary at `epoch`; the node refuses an epoch older than its own. */
    async promoteCopy({ nodeId, volumeId, epoch }: CopyRef & { epoch: number }): Promise<void> {
      await nodes.call(nodeId, `/v1/volumes/${volumeId}/config`, { method: 'POST', body: { role: 'primary', epoch, peer: null }, timeoutMs: 5000 });
    },

    async resumeCopyIo({ nodeId, volumeId }: CopyRef): Promise<void> {
      await nodes.call(nodeId, `/v1/volumes/${volumeId}/io`, { method: 'POST', body: { state: 'enabled' } });
    },

    /** The decided copy serves again as primary at `epoch`; its held I/O is released in order. */
    async enableCopy({ nodeId, volumeId, epoch }: CopyRef & { epoch: number }): Promise<void> {
      await nodes.call(nodeId, `/v1/volumes/${volumeId}/enable`, { method: 'POST', body: { epoch } });
    },

    /** The node leaves recovery: new volumes may be placed in the space its deletions freed. */
    async resumeNodeService({ nodeId, workflowId }: { nodeId: string; workflowId: string }): Promise<void> {
      await nodes.call(nodeId, '/v1/service/resume', { method: 'POST' });
      await setNodeState(db, nodeId, 'in-service');
      await markInService(db, workflowId);
    },
  };
}
