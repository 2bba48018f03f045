// Where a customer's block client connects: the volume's current primary, with a grant that
// its node checks on its own. Block I/O then flows between the client and the node; the API only
// authorizes and answers "where", again each time the attach path follows the volume.
import { z } from 'zod';
import { nodeToken, signGrant, type GrantAccess } from '../../common/tokens.js';
import { AppError } from '../errors.js';
import { primaryOf, type ReplicaRow, type VolumeRow } from '../repositories/volumes.js';
import type { Deps } from './deps.js';
import { requireVolume } from './volumes.js';

export const AttachBody = z.strictObject({ review: z.boolean().optional() });

export interface AttachmentView {
  volumeId: string;
  sizeBytes: number;
  ioState: string;
  access: GrantAccess;
  readOnly: boolean;
  /** Null while no copy serves (failing over, restoring, moving): the attach path holds requests and asks again. */
  serving: {
    nodeId: string;
    /** Changes when the node restarts: the attach path reconnects even if the address is the same. */
    nodeBootId: string;
    epoch: number;
    nbd: { host: string; port: number; exportName: string };
    expiresAt: string;
  } | null;
}

export async function attachVolume(
  deps: Deps,
  customerId: string,
  volumeId: string,
  body: z.infer<typeof AttachBody>,
): Promise<AttachmentView> {
  const volume = usable(await requireVolume(deps, customerId, volumeId));
  const primary = await primaryOf(deps.db, volumeId);
  const access: GrantAccess = body.review ? 'review' : 'io';
  const view = { volumeId, sizeBytes: volume.sizeBytes, ioState: volume.ioState, access, readOnly: access === 'review' };
  if (!primary?.nodeNbdAddress) return { ...view, serving: null };
  const expiresAt = Date.now() + deps.config.reviewGrantTtlMs;
  const exportName = signGrant(
    { volumeId, nodeId: primary.nodeId, access, expiresAt },
    nodeToken(deps.config.clusterSecret, primary.nodeId),
  );
  return {
    ...view,
    serving: {
      nodeId: primary.nodeId,
      nodeBootId: primary.nodeBootId,
      epoch: primary.epoch,
      nbd: { ...splitAddress(primary), exportName },
      expiresAt: new Date(expiresAt).toISOString(),
    },
  };
}

/** A deleted or archived volume has nothing to attach, for good: the attach path fails its requests. */
function usable(volume: VolumeRow): VolumeRow {
  if (volume.state === 'deleting') throw new AppError(410, 'volume-deleted', `volume ${volume.id} was deleted`);
  if (volume.state === 'archived') {
    throw new AppError(
      410,
      'volume-archived',
      `volume ${volume.id} was archived to snapshot ${volume.archiveSnapshotId}; create a volume from it to use its data`,
    );
  }
  if (volume.state !== 'available' && volume.state !== 'in-use') {
    throw new AppError(409, 'volume-not-ready', `volume ${volume.id} is ${volume.state}; it cannot be attached`);
  }
  return volume;
}

function splitAddress(primary: ReplicaRow): { host: string; port: number } {
  const at = primary.nodeNbdAddress.lastIndexOf(':');
  return { host: primary.nodeNbdAddress.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(primary.nodeNbdAddress.slice(at + 1)) };
}
