import type { Classification, InventoryVolume, ScannedReplica } from '../types.js';

/**
 * Investigation: what a recovering node's copy is worth, judged against the inventory.
 * Only a copy that is a current member with no healthy peer is kept as a candidate.
 */
export function classifyReplica(
  nodeId: string,
  copy: ScannedReplica,
  volume: InventoryVolume | undefined,
): Classification {
  if (!volume || volume.deleted) return 'orphan';
  const self = volume.members.find((m) => m.nodeId === nodeId);
  if (!self || copy.epoch < volume.epoch) return 'stale';
  const healthyPeer = volume.members.some((m) => m.nodeId !== nodeId && m.healthy && m.epoch >= copy.epoch);
  return healthyPeer ? 'duplicate' : 'candidate';
}
