// Customer volume stories: create (placed across failure domains), describe, status in the
// shape of EBS DescribeVolumeStatus, enable I/O after a recovery, review grants.
import { randomBytes } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { z } from 'zod';
import {
  CONTROL_TASK_QUEUE,
  decideUpdate,
  volumeDeletionId,
  volumeRecoveryId,
  volumeStatusQuery,
  type DecisionRequest,
  type DecisionResult,
} from '../../common/messages.js';
import { isHealthy } from '../../common/rules/health.js';
import { placeReplicas } from '../../common/rules/placement.js';
import { nodeToken, signGrant } from '../../common/tokens.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { volumeDeletion } from '../../workflows/volume-maintenance.js';
import { AppError, notFound } from '../errors.js';
import { inTransaction } from '../repositories/db.js';
import { INCONSISTENCY_EVENT, listEvents, type VolumeEventRow } from '../repositories/events.js';
import { getCustomerSnapshot } from '../repositories/snapshots.js';
import { lockPlacement, placementCandidates } from '../repositories/nodes.js';
import {
  getCustomerVolume,
  getVolume,
  insertVolume,
  listVolumes,
  primaryOf,
  replicasOf,
  setAutoEnableIo,
  setVolumeState,
  type VolumeRow,
} from '../repositories/volumes.js';
import { lockCustomer } from '../repositories/quotas.js';
import type { Deps } from './deps.js';
import { requireRoom } from './quotas.js';

export const CreateVolumeBody = z
  .strictObject({
    sizeBytes: z.number().int().positive().multipleOf(BLOCK_SIZE).optional(),
    autoEnableIo: z.boolean().default(false),
    /** Create the volume from this snapshot (its size unless sizeBytes says the same). */
    snapshotId: z
      .string()
      .regex(/^[\w-]{1,80}$/)
      .optional(),
  })
  .refine((b) => b.sizeBytes !== undefined || b.snapshotId !== undefined, { message: 'sizeBytes or snapshotId is required' });

export const PatchVolumeBody = z.strictObject({ autoEnableIo: z.boolean() });

export function volumeView(v: VolumeRow) {
  return {
    volumeId: v.id,
    sizeBytes: v.sizeBytes,
    blockSize: v.blockSize,
    state: v.state,
    ioState: v.ioState,
    autoEnableIo: v.autoEnableIo,
    epoch: v.epoch,
    createdAt: v.createdAt.toISOString(),
    ...(v.sourceSnapshotId ? { snapshotId: v.sourceSnapshotId } : {}),
    ...(v.archiveSnapshotId ? { archiveSnapshotId: v.archiveSnapshotId } : {}),
  };
}

/** What a volume id can be; anything else (a NUL byte, which Postgres text refuses, a path) is simply not found. */
const VOLUME_ID = /^[\w-]{1,128}$/;

export async function requireVolume(deps: Deps, customerId: string, volumeId: string): Promise<VolumeRow> {
  if (!VOLUME_ID.test(volumeId)) throw notFound(`volume ${volumeId.slice(0, 200)}`);
  const volume = await getCustomerVolume(deps.db, volumeId, customerId);
  if (!volume || volume.state === 'deleted') throw notFound(`volume ${volumeId}`);
  return volume;
}

export async function createVolume(deps: Deps, customerId: string, body: z.infer<typeof CreateVolumeBody>) {
  const source = body.snapshotId ? await sourceSnapshot(deps, customerId, body.snapshotId, body.sizeBytes) : null;
  const sizeBytes = source?.sizeBytes ?? body.sizeBytes!;
  if (sizeBytes > deps.config.maxVolumeBytes) {
    throw new AppError(400, 'invalid-request', `sizeBytes must be at most ${deps.config.maxVolumeBytes}`);
  }
  const id = `vol-${randomBytes(8).toString('hex')}`;
  const row = { id, customerId, sizeBytes, autoEnableIo: body.autoEnableIo, sourceSnapshotId: source?.id ?? null };
  // The copies are chosen and their space reserved in one transaction, under the placement lock,
  // so that concurrent creates see each other's copies and spread instead of picking one pair.
  const [primary, secondary] = await inTransaction(deps.db, async (tx) => {
    await lockCustomer(tx, customerId);
    await requireRoom(deps, tx, customerId, { volumes: 1, bytes: sizeBytes });
    await lockPlacement(tx);
    const placement = placeReplicas(await placementCandidates(tx), sizeBytes, Math.random);
    if (!placement)
      throw new AppError(503, 'insufficient-capacity', 'no two power domains have room for this volume', { 'retry-after': '30' });
    await insertVolume(tx, row, placement[0].nodeId, placement[1].nodeId);
    return placement;
  });
  try {
    // Each copy fills itself from the snapshot store: no copy waits on the other.
    const create = { sizeBytes, epoch: 1, ...(source ? { source: { volumeId: source.volumeId, snapshotId: source.id } } : {}) };
    await (await deps.nodes.node(secondary.nodeId)).createVolume(id, { ...create, role: 'secondary', peer: null });
    const peer = await deps.nodes.peerRef(secondary.nodeId, id, create.epoch);
    await (await deps.nodes.node(primary.nodeId)).createVolume(id, { ...create, role: 'primary', peer });
  } catch (err) {
    await setVolumeState(deps.db, id, 'error');
    throw new AppError(503, 'placement-failed', `could not create the volume's copies: ${(err as Error).message}`);
  }
  await setVolumeState(deps.db, id, 'available');
  return volumeView((await getVolume(deps.db, id))!);
}

async function sourceSnapshot(deps: Deps, customerId: string, snapshotId: string, sizeBytes: number | undefined) {
  const snapshot = await getCustomerSnapshot(deps.db, snapshotId, customerId);
  if (!snapshot) throw notFound(`snapshot ${snapshotId}`);
  if (snapshot.state !== 'completed') throw new AppError(409, 'snapshot-not-completed', `snapshot ${snapshotId} is ${snapshot.state}`);
  if (sizeBytes !== undefined && sizeBytes !== snapshot.sizeBytes) {
    throw new AppError(400, 'invalid-request', `sizeBytes must equal the snapshot's size, ${snapshot.sizeBytes}`);
  }
  return snapshot;
}

export async function listCustomerVolumes(deps: Deps, customerId: string) {
  return (await listVolumes(deps.db, customerId)).map(volumeView);
}

export async function updateVolume(deps: Deps, customerId: string, volumeId: string, body: z.infer<typeof PatchVolumeBody>) {
  await requireVolume(deps, customerId, volumeId);
  await setAutoEnableIo(deps.db, volumeId, body.autoEnableIo);
  return volumeView((await getVolume(deps.db, volumeId))!);
}

/** What a customer may decide for a restored volume (EBS has the first; the rest go beyond it). */
const REVIEW_ACTIONS = [
  { code: 'enable-volume-io', description: 'Enable volume I/O', request: 'POST /v1/volumes/{id}/enable-io' },
  { code: 'snapshot-volume', description: 'Snapshot the restored copy, then decide', request: 'POST /v1/volumes/{id}/snapshots' },
  { code: 'archive-volume', description: 'Archive to the snapshot store and delete the copy', request: 'POST /v1/volumes/{id}/archive' },
  { code: 'transfer-volume', description: 'Move the copy to another zone and enable I/O there', request: 'POST /v1/volumes/{id}/transfer' },
  { code: 'delete-volume', description: 'Delete the volume', request: 'DELETE /v1/volumes/{id}' },
];

/** DescribeVolumeStatus, one volume: status, io-enabled check, events and pending actions. */
export async function volumeStatus(deps: Deps, customerId: string, volumeId: string) {
  const volume = await requireVolume(deps, customerId, volumeId);
  const serving = (await replicasOf(deps.db, volumeId)).filter(isHealthy).length;
  const events = await listEvents(deps.db, volumeId);
  const pending = events.find((e) => e.code === INCONSISTENCY_EVENT && !e.endedAt);
  const review = pending
    ? await deps.temporal.workflow
        .getHandle(volumeRecoveryId(volumeId, volume.epoch))
        .query(volumeStatusQuery)
        .catch(() => null)
    : null;
  const ioEnabled = volume.ioState === 'enabled';
  const status = !ioEnabled || serving === 0 ? 'impaired' : serving < 2 ? 'warning' : 'ok';
  return {
    volumeId,
    volumeStatus: { status, details: [{ name: 'io-enabled', status: ioEnabled ? 'passed' : 'failed' }], servingCopies: serving },
    events: events.map(eventView),
    actions:
      pending && review?.awaitingDecision !== false
        ? REVIEW_ACTIONS.map((a) => ({ ...a, eventId: `evt-${pending.id}`, eventType: pending.code }))
        : [],
    ...(review?.reviewDeadline ? { reviewDeadline: review.reviewDeadline } : {}),
  };
}

function eventView(e: VolumeEventRow) {
  return {
    eventId: `evt-${e.id}`,
    eventType: e.code,
    description: e.description,
    notBefore: e.startedAt.toISOString(),
    notAfter: e.endedAt?.toISOString() ?? null,
    ...(e.proof ? { proof: e.proof } : {}),
  };
}

/** Enables I/O after a recovery (idempotent): answered by the volume recovery's Update. */
export async function enableIo(deps: Deps, customerId: string, volumeId: string) {
  const volume = await requireVolume(deps, customerId, volumeId);
  if (volume.ioState === 'enabled') return { volumeId, ioState: 'enabled', epoch: volume.epoch, alreadyEnabled: true };
  const result = await decide(deps, volume, { action: 'enable-io' });
  return { volumeId, ioState: 'enabled', epoch: result.epoch, nodeId: result.nodeId, alreadyEnabled: result.alreadyApplied };
}

/** Archive or transfer a restored volume under review; answered once carried out. */
export async function reviewDecision(deps: Deps, customerId: string, volumeId: string, action: 'archive' | 'transfer') {
  const result = await decide(deps, await requireVolume(deps, customerId, volumeId), { action });
  return { volumeId, ...result };
}

/** Deletes a volume: the review's decision while one waits, otherwise a deletion workflow. */
export async function deleteCustomerVolume(deps: Deps, customerId: string, volumeId: string) {
  const volume = await requireVolume(deps, customerId, volumeId);
  if (volume.state !== 'archived' && (await awaitsDecision(deps, volume))) {
    return { volumeId, state: 'deleted', ...(await decide(deps, volume, { action: 'delete' })) };
  }
  if ((await replicasOf(deps.db, volumeId)).some((r) => ['recovering', 'candidate', 'restored'].includes(r.state))) {
    throw new AppError(409, 'recovering', `volume ${volumeId} is being recovered; delete it once its review asks for a decision`, {
      'retry-after': '5',
    });
  }
  await setVolumeState(deps.db, volumeId, 'deleting');
  await deps.temporal.workflow
    .start(volumeDeletion, {
      workflowId: volumeDeletionId(volumeId),
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{ volumeId }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `Delete ${volumeId}: every copy, space reclaimed`,
    })
    .catch((err: unknown) => {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    });
  return { volumeId, state: 'deleting' };
}

/**
 * A decision for the volume's recovery, through its validated Update; 409 when none waits or
 * the workflow rejects it. Answered once carried out, or with `accepted` once validated.
 */
export async function decide(
  deps: Deps,
  volume: VolumeRow,
  request: DecisionRequest,
  until: 'done' | 'accepted' = 'done',
): Promise<DecisionResult> {
  const volumeId = volume.id;
  const handle = deps.temporal.workflow.getHandle(volumeRecoveryId(volumeId, volume.epoch));
  try {
    if (until === 'accepted') {
      await handle.startUpdate(decideUpdate, { args: [request], waitForStage: WorkflowUpdateStage.ACCEPTED });
      return { action: request.action, alreadyApplied: false, ...(request.snapshotId ? { snapshotId: request.snapshotId } : {}) };
    }
    return await handle.executeUpdate(decideUpdate, { args: [request] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new AppError(409, 'not-ready', (err.cause as Error)?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError)
      throw new AppError(409, 'no-recovery', `volume ${volumeId} has no recovery awaiting a decision`);
    throw err;
  }
}

export async function awaitsDecision(deps: Deps, volume: VolumeRow): Promise<boolean> {
  if (volume.ioState !== 'paused') return false;
  const status = await deps.temporal.workflow
    .getHandle(volumeRecoveryId(volume.id, volume.epoch))
    .query(volumeStatusQuery)
    .catch(() => null);
  return status?.phase === 'configuration';
}

/** A signed, expiring grant to read the volume's restored copy directly from its node. */
export async function reviewGrant(deps: Deps, customerId: string, volumeId: string) {
  await requireVolume(deps, customerId, volumeId);
  const primary = await primaryOf(deps.db, volumeId);
  if (!primary) throw new AppError(409, 'no-copy', `volume ${volumeId} has no copy to review right now`);
  const expiresAt = Date.now() + deps.config.reviewGrantTtlMs;
  const grant = signGrant(
    { volumeId, nodeId: primary.nodeId, access: 'review', expiresAt },
    nodeToken(deps.config.clusterSecret, primary.nodeId),
  );
  return { volumeId, nodeId: primary.nodeId, nodeUrl: primary.nodeUrl, grant, expiresAt: new Date(expiresAt).toISOString() };
}
