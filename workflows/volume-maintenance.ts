// Workflows for a serving volume: re-replication after a recovery, snapshots (one-off and by
// policy, the latter started by a Temporal Schedule), and deletion.
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { VolumeIdKey } from '../common/messages.js';
import type { SnapshotKind } from '../common/types.js';
import { CONTROL } from './activity-profiles.js';
import { addCopy, deleteVolume, takeSnapshot } from './copies.js';

const control = proxyActivities<Activities>(CONTROL);

/** After enable: a new secondary for the sole primary at `epoch`, rebuilt while it serves. */
export async function volumeRebuild({ volumeId, source, epoch }: { volumeId: string; source: string; epoch: number }): Promise<{ secondary: string | null }> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: volumeId }]);
  const target = await addCopy(volumeId, source, epoch, false);
  if (target && !(await control.recordRebuilt({ volumeId, nodeId: target, epoch }))) return { secondary: null };
  return { secondary: target };
}

export async function volumeSnapshot(input: { volumeId: string; snapshotId: string; kind: SnapshotKind }): Promise<{ state: 'completed' | 'error' }> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: input.volumeId }]);
  return { state: (await takeSnapshot(input.volumeId, input.snapshotId, input.kind)) ? 'completed' : 'error' };
}

/** One tick of a volume's snapshot policy: a snapshot, then the oldest beyond `retention` go. */
export async function snapshotPolicy({ volumeId, retention }: { volumeId: string; retention: number }): Promise<{ snapshotId: string; pruned: string[] }> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: volumeId }]);
  const snapshotId = `snap-${workflowInfo().runId.replace(/-/g, '').slice(0, 16)}`;
  const taken = await takeSnapshot(volumeId, snapshotId, 'policy');
  return { snapshotId, pruned: taken ? await control.pruneSnapshots({ volumeId, keep: retention }) : [] };
}

export async function volumeDeletion({ volumeId }: { volumeId: string }): Promise<void> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: volumeId }]);
  await deleteVolume(volumeId, 'customer');
}
