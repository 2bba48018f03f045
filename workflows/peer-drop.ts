// peerDrop: a primary could not reach its secondary and the control plane let it serve alone.
// The volume fails over away from the secondary (the primary accepts epoch+1 with no peer
// first, then the inventory records it), a new secondary is rebuilt, and the stale copy goes.
import { upsertSearchAttributes } from '@temporalio/workflow';
import { VolumeIdKey } from '../common/messages.js';
import { deleteUnlessRefused, failOver, type FailoverOutcome } from './failover.js';

export interface PeerDropInput {
  volumeId: string;
  requester: string;
  peer: string;
  /** The epoch the request was made at; a volume that moved on since is left alone. */
  epoch: number;
}

export async function peerDrop({ volumeId, peer, epoch }: PeerDropInput): Promise<{ outcome: FailoverOutcome; staleCopyDeleted: boolean }> {
  upsertSearchAttributes([{ key: VolumeIdKey, value: volumeId }]);
  const outcome = await failOver(volumeId, peer, epoch);
  // The peer's copy is stale from epoch+1 on; it answers the deletion if it is reachable at all.
  const staleCopyDeleted =
    outcome === 'moved' &&
    (await deleteUnlessRefused({ nodeId: peer, volumeId, reason: 'dropped: its primary could not reach it' }, { giveUp: true }));
  return { outcome, staleCopyDeleted };
}
