// Activities on snapshot records (Postgres) and the snapshot store itself.
import type { Db } from '../api/repositories/db.js';
import { completeSnapshot, failSnapshot, insertSnapshot, listSnapshots, markSnapshotDeleted } from '../api/repositories/snapshots.js';
import type { SnapshotKind } from '../common/types.js';
import { getVolume, primaryOf } from '../api/repositories/volumes.js';
import type { SnapshotSummary } from '../snapshot-store/manifest.js';
import type { SnapshotStore } from '../snapshot-store/store.js';

export function createSnapshotActivities(db: Db, store: SnapshotStore) {
  return {
    /** Records a snapshot the workflow is about to take (idempotent); the API shows it pending. */
    async beginSnapshot(input: { snapshotId: string; volumeId: string; kind: SnapshotKind }): Promise<void> {
      const volume = await getVolume(db, input.volumeId);
      if (!volume) throw new Error(`volume ${input.volumeId} not found`);
      await insertSnapshot(db, {
        id: input.snapshotId,
        volumeId: input.volumeId,
        customerId: volume.customerId,
        kind: input.kind,
        sizeBytes: volume.sizeBytes,
      });
    },

    /** The copy a snapshot of a serving volume reads: its primary. */
    async snapshotSource({ volumeId }: { volumeId: string }): Promise<string | null> {
      return (await primaryOf(db, volumeId))?.nodeId ?? null;
    },

    async recordSnapshot({ snapshotId, summary }: { snapshotId: string; summary: SnapshotSummary }): Promise<void> {
      await completeSnapshot(db, snapshotId, summary);
    },

    async recordSnapshotFailed({ snapshotId, error }: { snapshotId: string; error: string }): Promise<void> {
      await failSnapshot(db, snapshotId, error);
    },

    /** A snapshot policy's retention: the oldest completed policy snapshots beyond `keep` go. */
    async pruneSnapshots({ volumeId, keep }: { volumeId: string; keep: number }): Promise<string[]> {
      const policy = (await listSnapshots(db, volumeId)).filter((s) => s.kind === 'policy' && s.state === 'completed');
      const expired = policy.slice(0, Math.max(0, policy.length - keep));
      for (const s of expired) {
        await store.deleteManifest(s.volumeId, s.id); // the manifest first, then the record
        await markSnapshotDeleted(db, s.id);
      }
      return expired.map((s) => s.id);
    },
  };
}
