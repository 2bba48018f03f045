// Customer snapshot stories: take one, list and describe them, delete one. A snapshot of a
// volume awaiting review goes through its recovery's decision Update; otherwise a workflow.
import { randomBytes } from 'node:crypto';
import { CONTROL_TASK_QUEUE, snapshotWorkflowId } from '../../common/messages.js';
import type { SnapshotStore } from '../../snapshot-store/store.js';
import { volumeSnapshot } from '../../workflows/volume-maintenance.js';
import { AppError, notFound } from '../errors.js';
import type { Db } from '../repositories/db.js';
import {
  countRequestedSnapshots,
  discardPendingSnapshot,
  failSnapshot,
  getCustomerSnapshot,
  getSnapshot,
  insertSnapshot,
  listSnapshots,
  markSnapshotDeleted,
  type SnapshotRow,
} from '../repositories/snapshots.js';
import { archivedVolumeOf } from '../repositories/volumes.js';
import type { Deps } from './deps.js';
import { requireRoom } from './quotas.js';
import { awaitsDecision, decide, requireVolume } from './volumes.js';

export function snapshotView(s: SnapshotRow) {
  return {
    snapshotId: s.id,
    volumeId: s.volumeId,
    kind: s.kind,
    state: s.state,
    sizeBytes: s.sizeBytes,
    epoch: s.epoch,
    writeSeq: s.writeSeq,
    digest: s.digest,
    parentId: s.parentId,
    ...(s.error ? { error: s.error } : {}),
    createdAt: s.createdAt.toISOString(),
    completedAt: s.completedAt?.toISOString() ?? null,
  };
}

function newSnapshotId(): string {
  return `snap-${randomBytes(8).toString('hex')}`;
}

export async function createSnapshot(deps: Deps, customerId: string, volumeId: string) {
  const volume = await requireVolume(deps, customerId, volumeId);
  if (volume.state === 'archived')
    throw new AppError(409, 'archived', `volume ${volumeId} is archived; its archive snapshot is ${volume.archiveSnapshotId}`);
  const limit = deps.config.maxManualSnapshotsPerVolume;
  if ((await countRequestedSnapshots(deps.db, volumeId)) >= limit) {
    throw new AppError(
      409,
      'too-many-snapshots',
      `volume ${volumeId} has ${limit} snapshots taken on request, the most allowed; delete one first`,
    );
  }
  const underReview = volume.ioState === 'paused';
  if (underReview && !(await awaitsDecision(deps, volume))) {
    throw new AppError(409, 'not-ready', `volume ${volumeId} is paused and no review awaits a decision; try again shortly`, {
      'retry-after': '5',
    });
  }
  await requireRoom(deps, deps.db, customerId, { snapshots: 1 });
  const snapshotId = newSnapshotId();
  await insertSnapshot(deps.db, {
    id: snapshotId,
    volumeId,
    customerId,
    kind: underReview ? 'review' : 'manual',
    sizeBytes: volume.sizeBytes,
  });
  if (underReview) {
    await decide(deps, volume, { action: 'snapshot', snapshotId }, 'accepted').catch(async (err: unknown) => {
      // Refused (a review that moved on meanwhile): the request changes nothing, so its record goes.
      if (err instanceof AppError && err.status === 409) await discardPendingSnapshot(deps.db, snapshotId);
      else await failSnapshot(deps.db, snapshotId, (err as Error).message);
      throw err;
    });
  } else {
    await deps.temporal.workflow
      .start(volumeSnapshot, {
        workflowId: snapshotWorkflowId(snapshotId),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{ volumeId, snapshotId, kind: 'manual' }],
        staticSummary: `Snapshot ${snapshotId} of ${volumeId} (on request)`,
      })
      .catch(async (err: unknown) => {
        await failSnapshot(deps.db, snapshotId, `could not start: ${(err as Error).message}`);
        throw err;
      });
  }
  return snapshotView((await getSnapshot(deps.db, snapshotId))!);
}

export async function listVolumeSnapshots(deps: Deps, customerId: string, volumeId: string) {
  await requireVolume(deps, customerId, volumeId);
  return (await listSnapshots(deps.db, volumeId)).map(snapshotView);
}

/** What a snapshot id can be; anything else (a NUL byte, which Postgres text refuses) is simply not found. */
const SNAPSHOT_ID = /^[\w-]{1,128}$/;

export async function requireSnapshot(deps: Deps, customerId: string, snapshotId: string): Promise<SnapshotRow> {
  if (!SNAPSHOT_ID.test(snapshotId)) throw notFound(`snapshot ${snapshotId.slice(0, 200)}`);
  const snapshot = await getCustomerSnapshot(deps.db, snapshotId, customerId);
  if (!snapshot) throw notFound(`snapshot ${snapshotId}`);
  return snapshot;
}

export async function deleteSnapshot(deps: Deps, customerId: string, snapshotId: string) {
  const snapshot = await requireSnapshot(deps, customerId, snapshotId);
  if (snapshot.state === 'pending') throw new AppError(409, 'snapshot-pending', `snapshot ${snapshotId} is still being taken`);
  const archived = await archivedVolumeOf(deps.db, snapshotId);
  if (archived)
    throw new AppError(409, 'archive-snapshot', `snapshot ${snapshotId} holds archived volume ${archived}; delete that volume first`);
  return { snapshotId, deleted: true, ...(await removeSnapshot(deps.db, deps.snapshots, snapshot)) };
}

/** The manifest goes first, then the record; chunks another snapshot names are kept. */
export async function removeSnapshot(db: Db, store: SnapshotStore, snapshot: SnapshotRow): Promise<{ chunksFreed: number }> {
  const { chunksFreed } = await store.deleteManifest(snapshot.volumeId, snapshot.id);
  await markSnapshotDeleted(db, snapshot.id);
  return { chunksFreed };
}
