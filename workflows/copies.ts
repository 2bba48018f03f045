// Steps that add, move or remove a volume's copies and snapshots, shared by the recovery's
// decisions, re-replication, snapshots and deletion.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SnapshotKind } from '../common/types.js';
import type { SnapshotSummary } from '../snapshot-store/manifest.js';
import { CONTROL, DATA_BOUNDED, PROBE } from './activity-profiles.js';
import { deleteUnlessRefused } from './failover.js';

const control = proxyActivities<Activities>(CONTROL);
const data = proxyActivities<Activities>(DATA_BOUNDED);
const probe = proxyActivities<Activities>(PROBE);

/**
 * A new copy of the volume rebuilt from `source` at `epoch`, placed in another power domain
 * (preferably router and zone) or, with `otherZone`, another zone. Null when no node has room
 * or the rebuild cannot finish; then the partial copy is abandoned and the source mirrors to
 * nobody again.
 */
export async function addCopy(
  volumeId: string,
  source: string,
  epoch: number,
  { otherZone }: { otherZone: boolean },
): Promise<{ target: string; resumedFrom: number } | null> {
  const plan = await control.planCopy({ volumeId, source, otherZone });
  if (!plan) return null;
  try {
    const { resumedFrom } = await data.rebuildCopy({ volumeId, source, target: plan.target, epoch, sizeBytes: plan.sizeBytes });
    return { target: plan.target, resumedFrom };
  } catch {
    await control.abandonCopy({ volumeId, nodeId: plan.target });
    await probe.promoteCopy({ nodeId: source, volumeId, epoch }).catch(() => undefined); // drops the peer
    await deleteUnlessRefused({ nodeId: plan.target, volumeId, reason: 'rebuild abandoned' }, { giveUp: true });
    return null;
  }
}

/** Records, takes and completes one snapshot; null (and the record in `error`) when it failed. */
export async function takeSnapshot(
  volumeId: string,
  snapshotId: string,
  kind: SnapshotKind,
  nodeId?: string,
): Promise<SnapshotSummary | null> {
  await control.beginSnapshot({ snapshotId, volumeId, kind });
  const source = nodeId ?? (await control.snapshotSource({ volumeId }));
  try {
    if (!source) throw new Error('no copy serves the volume');
    const summary = await data.snapshotCopy({ nodeId: source, volumeId, snapshotId });
    await control.recordSnapshot({ snapshotId, summary });
    return summary;
  } catch (err) {
    await control.recordSnapshotFailed({
      snapshotId,
      error: (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message,
    });
    return null;
  }
}

/** Archive: a snapshot of the copy, durable in the store, then every copy deleted. */
export async function archiveVolume(volumeId: string, nodeId: string, snapshotId: string, by: string): Promise<void> {
  if (!(await takeSnapshot(volumeId, snapshotId, 'archive', nodeId))) {
    throw ApplicationFailure.nonRetryable(`the archive snapshot of ${volumeId} failed; the volume keeps its copy`, 'DecisionFailed');
  }
  await control.recordArchived({ volumeId, snapshotId, by });
  await control.dropSnapshotPolicy({ volumeId });
  await deleteEveryCopy(volumeId, 'archived');
}

export async function deleteVolume(volumeId: string, by: string): Promise<void> {
  await control.recordVolumeDeleted({ volumeId, by });
  await control.dropSnapshotPolicy({ volumeId });
  await deleteEveryCopy(volumeId, 'volume deleted');
}

async function deleteEveryCopy(volumeId: string, reason: string): Promise<void> {
  for (const nodeId of await control.copiesOf({ volumeId })) await deleteUnlessRefused({ nodeId, volumeId, reason }, { giveUp: true });
}
