// Workflows for a serving volume: re-replication after a recovery, snapshots (one-off and by
// policy, the latter started by a Temporal Schedule), and deletion.
import { patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { VolumeIdKey } from '../common/messages.js';
import type { SnapshotKind } from '../common/types.js';
import { CONTROL, SNAPSHOT } from './activity-profiles.js';
import { addCopy, deleteVolume } from './copies.js';
import { deleteUnlessRefused } from './failover.js';

const control = proxyActivities<Activities>(CONTROL);
const snapshots = proxyActivities<Activities>(SNAPSHOT);

export const REBUILD_DELETES_REPLACED_PATCH = 'rebuild-deletes-replaced';

/**
 * After enable: a new secondary for the sole primary at `epoch`, rebuilt while it serves.
 * `resumedFrom` > 0: the copy resumed from a heartbeat after a worker crash.
 */
export interface VolumeRebuildInput {
  volumeId: string;
  source: string;
  epoch: number;
}

export async function volumeRebuild({
  volumeId,
  source,
  epoch,
}: VolumeRebuildInput): Promise<{ secondary: string | null; resumedFrom: number }> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: volumeId }]);
  const copy = await addCopy(volumeId, source, epoch, { otherZone: false });
  if (!copy || !(await control.recordRebuilt({ volumeId, nodeId: copy.target, epoch })))
    return { secondary: null, resumedFrom: copy?.resumedFrom ?? 0 };
  // The rebuilt copy retired the secondary it replaced (recordRebuilt): nothing else would delete
  // that copy while its node stays in service. Older histories replay without this step.
  if (patched(REBUILD_DELETES_REPLACED_PATCH)) {
    for (const nodeId of await control.staleCopiesOf({ volumeId }))
      await deleteUnlessRefused({ nodeId, volumeId, reason: `replaced by the secondary rebuilt on ${copy.target}` }, { giveUp: true });
  }
  return { secondary: copy.target, resumedFrom: copy.resumedFrom };
}

export interface VolumeSnapshotInput {
  volumeId: string;
  snapshotId: string;
  kind: SnapshotKind;
}

export async function volumeSnapshot(input: VolumeSnapshotInput): Promise<{ state: 'completed' | 'error' }> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: input.volumeId }]);
  return { state: (await takeSnapshot(input.volumeId, input.snapshotId, input.kind)) ? 'completed' : 'error' };
}

/** One tick of a volume's snapshot policy: a snapshot, then the oldest beyond `retention` go. */
export interface SnapshotPolicyInput {
  volumeId: string;
  /** How many policy snapshots to keep. */
  retention: number;
}

export async function snapshotPolicy({ volumeId, retention }: SnapshotPolicyInput): Promise<{ snapshotId: string; pruned: string[] }> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: volumeId }]);
  const snapshotId = `snap-${workflowInfo().runId.replace(/-/g, '').slice(0, 16)}`;
  const taken = await takeSnapshot(volumeId, snapshotId, 'policy');
  return { snapshotId, pruned: taken ? await control.pruneSnapshots({ volumeId, keep: retention }) : [] };
}

/** Records, takes and completes one snapshot of the serving primary; false (and the record in `error`) when it failed. */
async function takeSnapshot(volumeId: string, snapshotId: string, kind: SnapshotKind): Promise<boolean> {
  await control.beginSnapshot({ snapshotId, volumeId, kind });
  const source = await control.snapshotSource({ volumeId });
  try {
    if (!source) throw new Error('no copy serves the volume');
    const summary = await snapshots.snapshotCopy({ nodeId: source, volumeId, snapshotId });
    await control.recordSnapshot({ snapshotId, summary });
    return true;
  } catch (err) {
    const cause = (err as Error).cause;
    await control.recordSnapshotFailed({ snapshotId, error: cause instanceof Error ? cause.message : (err as Error).message });
    return false;
  }
}

export interface VolumeDeletionInput {
  volumeId: string;
}

export async function volumeDeletion({ volumeId }: VolumeDeletionInput): Promise<void> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: volumeId }]);
  await deleteVolume(volumeId, 'customer');
}
