// The re-check that guards every deletion of a copy, run in its own step right before it.
import type { ReplicaRole } from '../types.js';
import { isHealthy, isMember, type ReplicaStanding } from './health.js';
import { isHeldByRecovery } from './incidents.js';

export interface CopyState {
  nodeId: string;
  /** A member is still part of the volume's membership (not stale, not deleted). */
  member: boolean;
  /** Serving I/O on a node that is in service. */
  healthy: boolean;
  /** Elected and restored by a volume recovery: durable, read-only, the authority. */
  restored: boolean;
  /** Held by a volume recovery: offered to it (candidate) or elected and restored (`isHeldByRecovery`). */
  held: boolean;
  /** The inventory names it the volume's primary (role primary): the copy that serves, or served until its node failed. */
  primary: boolean;
}

/** Who asks: the volume's own recovery decides for the copies it holds; any other workflow may not. */
export type DeletionCaller = 'volume-recovery' | 'other';

/**
 * A copy may be deleted only when it cannot be the last one holding data no other copy has:
 * the volume is gone (deleted, or archived: its bytes are durable in the snapshot store), the copy left the membership (stale), or another member is healthy or
 * is the restored authoritative copy. The restored copy itself is never deleted this way, and a
 * copy a volume recovery holds is deleted only by that recovery: a later incident of its node, a
 * repair or a failover must not take a copy the recovery may still elect. The copy the inventory
 * names as the volume's primary is never deleted either, even while its node recovers, unless
 * another member already serves as primary: a failover, a transfer or a decision moves the role
 * first (chaos F3: a recovery re-run by a late offer of an incident since
 * enabled deleted the primary it had just enabled, beside a secondary that could not serve alone).
 */
export function mayDeleteCopy(volumeGone: boolean, nodeId: string, copies: CopyState[], caller: DeletionCaller): boolean {
  if (volumeGone) return true;
  const self = copies.find((c) => c.nodeId === nodeId);
  if (!self || !self.member) return true;
  if (self.restored) return false;
  if (self.primary && !copies.some((c) => c.nodeId !== nodeId && c.member && c.primary && c.healthy)) return false;
  if (self.held && caller !== 'volume-recovery') return false;
  return copies.some((c) => c.nodeId !== nodeId && c.member && (c.healthy || c.restored));
}

/** The re-check's view of a volume's copies, from the inventory's replicas. */
export function deletionView(replicas: (ReplicaStanding & { nodeId: string; role: ReplicaRole })[]): CopyState[] {
  return replicas.map((r) => ({
    nodeId: r.nodeId,
    member: isMember(r),
    healthy: isHealthy(r),
    restored: r.state === 'restored',
    held: isHeldByRecovery(r.state),
    primary: r.role === 'primary',
  }));
}
