import type { Classification, InventoryVolume, ScannedReplica } from '../types.js';

/**
 * Investigation: what a recovering node's copy is worth, judged against the inventory.
 * A copy a volume recovery holds (an earlier incident offered it, or it was elected) is offered
 * again: only that recovery decides for it, so a later incident of its node never discards it.
 * A node that did not crash (it was only declared down) lost nothing: its copies at the volume's
 * epoch rejoin as they were. A copy ahead of the inventory took a failover's promotion that was
 * never committed (its commit found the copy's node recovering): resumed as it was, it would
 * serve as a sole primary beside the inventory's and fence it (chaos seed 71206 scenario 0), so
 * it is offered to a volume recovery like a crashed node's copy. After a crash, a current copy
 * with no healthy peer at its epoch is a candidate.
 */
export function classifyReplica(nodeId: string, copy: ScannedReplica, volume: InventoryVolume | undefined, crashed = true): Classification {
  if (!volume || volume.deleted) return 'orphan';
  const self = volume.members.find((m) => m.nodeId === nodeId);
  if (!self) return 'stale';
  if (self.held) return 'candidate';
  if (copy.epoch < volume.epoch) return 'stale';
  if (!crashed && copy.epoch === volume.epoch) return 'rejoin';
  const healthyPeer = volume.members.some((m) => m.nodeId !== nodeId && m.healthy && m.epoch >= copy.epoch);
  return healthyPeer ? 'duplicate' : 'candidate';
}
