// Customer volume stories: create (placed across failure domains), describe, status in the
// shape of EBS DescribeVolumeStatus, enable I/O after a recovery, review grants.
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { enableIoUpdate, volumeRecoveryId } from '../../common/messages.js';
import { placeReplicas } from '../../common/rules/placement.js';
import { nodeToken, signReviewGrant } from '../../common/tokens.js';
import { BLOCK_SIZE } from '../../common/types.js';
import { AppError, notFound } from '../errors.js';
import { inTransaction } from '../repositories/db.js';
import { INCONSISTENCY_EVENT, listEvents, type VolumeEventRow } from '../repositories/events.js';
import { allocatedBytesByNode, listNodes } from '../repositories/nodes.js';
import {
  getVolume, insertVolume, isHealthy, listVolumes, primaryOf, replicasOf, setAutoEnableIo, setVolumeState, type VolumeRow,
} from '../repositories/volumes.js';
import type { Deps } from './deps.js';

export const CreateVolumeBody = z.strictObject({
  sizeBytes: z.number().int().positive().multipleOf(BLOCK_SIZE),
  autoEnableIo: z.boolean().default(false),
});

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
  };
}

export async function requireVolume(deps: Deps, customerId: string, volumeId: string): Promise<VolumeRow> {
  const volume = await getVolume(deps.db, volumeId, customerId);
  if (!volume || volume.state === 'deleted') throw notFound(`volume ${volumeId}`);
  return volume;
}

export async function createVolume(deps: Deps, customerId: string, body: z.infer<typeof CreateVolumeBody>) {
  if (body.sizeBytes > deps.config.maxVolumeBytes) {
    throw new AppError(400, 'invalid-request', `sizeBytes must be at most ${deps.config.maxVolumeBytes}`);
  }
  const allocated = await allocatedBytesByNode(deps.db);
  const candidates = (await listNodes(deps.db))
    .filter((n) => n.state === 'in-service')
    .map((n) => ({ nodeId: n.id, domain: n.domain, freeBytes: n.capacityBytes - (allocated.get(n.id) ?? 0) }));
  const placement = placeReplicas(candidates, body.sizeBytes);
  if (!placement) throw new AppError(503, 'insufficient-capacity', 'no two power domains have room for this volume', { 'retry-after': '30' });
  const [primary, secondary] = placement;
  const id = `vol-${randomBytes(8).toString('hex')}`;
  await inTransaction(deps.db, (tx) => insertVolume(tx, { id, customerId, ...body }, primary.nodeId, secondary.nodeId));
  try {
    const create = { sizeBytes: body.sizeBytes, epoch: 1 };
    await deps.nodes.call(secondary.nodeId, `/v1/volumes/${id}`, { method: 'PUT', body: { ...create, role: 'secondary', peer: null } });
    const peer = await deps.nodes.peerRef(secondary.nodeId);
    await deps.nodes.call(primary.nodeId, `/v1/volumes/${id}`, { method: 'PUT', body: { ...create, role: 'primary', peer } });
  } catch (err) {
    await setVolumeState(deps.db, id, 'error');
    throw new AppError(503, 'placement-failed', `could not create the volume's copies: ${(err as Error).message}`);
  }
  await setVolumeState(deps.db, id, 'available');
  return volumeView((await getVolume(deps.db, id))!);
}

export async function listCustomerVolumes(deps: Deps, customerId: string) {
  return (await listVolumes(deps.db, customerId)).map(volumeView);
}

export async function updateVolume(deps: Deps, customerId: string, volumeId: string, body: z.infer<typeof PatchVolumeBody>) {
  await requireVolume(deps, customerId, volumeId);
  await setAutoEnableIo(deps.db, volumeId, body.autoEnableIo);
  return volumeView((await getVolume(deps.db, volumeId))!);
}

/** DescribeVolumeStatus, one volume: status, io-enabled check, events and pending actions. */
export async function volumeStatus(deps: Deps, customerId: string, volumeId: string) {
  const volume = await requireVolume(deps, customerId, volumeId);
  const serving = (await replicasOf(deps.db, volumeId)).filter(isHealthy).length;
  const events = await listEvents(deps.db, volumeId);
  const pending = events.find((e) => e.code === INCONSISTENCY_EVENT && !e.endedAt);
  const ioEnabled = volume.ioState === 'enabled';
  const status = !ioEnabled || serving === 0 ? 'impaired' : serving < 2 ? 'warning' : 'ok';
  return {
    volumeId,
    volumeStatus: { status, details: [{ name: 'io-enabled', status: ioEnabled ? 'passed' : 'failed' }], servingCopies: serving },
    events: events.map(eventView),
    actions: pending ? [{ code: 'enable-volume-io', description: 'Enable volume I/O', eventId: `evt-${pending.id}`, eventType: pending.code }] : [],
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
  const handle = deps.temporal.workflow.getHandle(volumeRecoveryId(volumeId, volume.epoch));
  try {
    const result = await handle.executeUpdate(enableIoUpdate);
    return { volumeId, ioState: 'enabled', epoch: result.epoch, alreadyEnabled: result.alreadyApplied };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new AppError(409, 'not-ready', (err.cause as Error)?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError) throw new AppError(409, 'no-recovery', `volume ${volumeId} has I/O paused but no recovery awaiting a decision`);
    throw err;
  }
}

/** A signed, expiring grant to read the volume's restored copy directly from its node. */
export async function reviewGrant(deps: Deps, customerId: string, volumeId: string) {
  await requireVolume(deps, customerId, volumeId);
  const primary = await primaryOf(deps.db, volumeId);
  if (!primary) throw new AppError(409, 'no-copy', `volume ${volumeId} has no copy to review right now`);
  const expiresAt = Date.now() + deps.config.reviewGrantTtlMs;
  const grant = signReviewGrant({ volumeId, nodeId: primary.nodeId, expiresAt }, nodeToken(deps.config.clusterSecret, primary.nodeId));
  return { volumeId, nodeId: primary.nodeId, nodeUrl: primary.nodeUrl, grant, expiresAt: new Date(expiresAt).toISOString() };
}
