import type { ReplicaState } from '../states.js';
import type { Classification, InventoryVolume, ScannedReplica } from '../types.js';
import { isHeldByRecovery } from './incidents.js';

/**
 * Investigation: what a recovering node's copy is worth, judged against the inventory.
 * A copy a volume recovery holds (an earlier incident offered it, or it was elected) is offered
 * again: only that recovery decides for it, so a later incident of its node never discards it.
 * A node that did not crash (it was only declared down) lost nothing: its copies at the volume's
 * epoch rejoin as they were. A copy ahead of the inventory took a failover's promotion that was
 * never committed (its commit found the copy's node recovering): resumed as it was, it would
 * serve as a sole primary beside the inventory's and fence it (chaos seed 71206 scenario 0), so
 * it is offered to a volume recovery like a crashed node's copy. While a volume recovery holds
 * another member, a current copy is offered to it too, crashed or not: that recovery may restore
 * the other copy, and only it can elect this one or repair from it (chaos seed 131207 scenario 18
 * rejoined an untorn secondary beside a held torn primary, and lost the torn block's write).
 * After a crash, a current copy with no healthy peer at its epoch is a candidate, unless a peer is
 * rejoining (`Verdict`).
 */
export function classifyReplica(nodeId: string, copy: ScannedReplica, volume: InventoryVolume | undefined, crashed = true): Verdict {
  if (!volume || volume.deleted) return 'orphan';
  const self = volume.members.find((m) => m.nodeId === nodeId);
  if (!self) return 'stale';
  if (self.held) return 'candidate';
  if (copy.epoch < volume.epoch) return 'stale';
  const peers = volume.members.filter((m) => m.nodeId !== nodeId);
  if (peers.some((m) => m.held)) return 'candidate';
  if (!crashed && copy.epoch === volume.epoch) return 'rejoin';
  if (peers.some((m) => m.healthy && m.epoch >= copy.epoch)) return 'duplicate';
  return peers.some((m) => m.rejoining && m.epoch >= copy.epoch) ? 'await-peer' : 'candidate';
}

/**
 * A classification, or `await-peer`: a crashed node's copy whose peer another incident has just
 * rejoined, before that incident put its node back in service. The peer holds every write the
 * copy acknowledged; offered now, the copy would be restored alone (a torn block and all) while
 * the peer stays outside the recovery (chaos seed 131207 scenario 18, second form). The
 * investigation classifies it again shortly: by then the peer serves (a duplicate), or its
 * incident was superseded and it is recovering (a candidate, offered beside this one).
 */
export type Verdict = Classification | 'await-peer';

/**
 * What a rejoin finds when it commits: the copy serves again (`true`); it is no longer recovering,
 * a failover made it stale meanwhile (`false`); or a volume recovery took another member since
 * the copy's classification, so the copy is offered to that recovery instead (`'offer'`).
 */
export type RejoinAnswer = boolean | 'offer';

/** The rejoin's re-check, under the volume's lock, against the volume's copies as they are now. */
export function rejoinAnswer(nodeId: string, replicas: { nodeId: string; state: ReplicaState }[]): RejoinAnswer {
  const self = replicas.find((r) => r.nodeId === nodeId);
  if (self?.state !== 'recovering') return false;
  return replicas.some((r) => r.nodeId !== nodeId && isHeldByRecovery(r.state)) ? 'offer' : true;
}
