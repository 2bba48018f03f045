// The inventory's states for volumes, nodes and replicas, and the moves between them the code
// makes (read off every statement that writes a state). Side-effect free: workflows may import it.

export type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted' | 'archived' | 'error';
export type NodeState = 'in-service' | 'down' | 'recovering';
export type ReplicaState = 'in-service' | 'recovering' | 'candidate' | 'restored' | 'rebuilding' | 'stale' | 'deleted';

/** Replica states that keep a copy in the volume's membership. */
export const MEMBER_STATES: ReplicaState[] = ['in-service', 'recovering', 'candidate', 'restored', 'rebuilding'];

/**
 * A volume is created (`error` when its copies could not be), then archived by a review,
 * deleted by a review's decision, or deleted by a deletion workflow (`deleting` first), which
 * any state but `deleted` may start. `in-use` is accepted by the schema and served like
 * `available`, but nothing sets it today.
 */
export const VOLUME_TRANSITIONS: Record<VolumeState, VolumeState[]> = {
  creating: ['available', 'error', 'deleting'],
  available: ['deleting', 'deleted', 'archived'],
  'in-use': ['deleting', 'deleted', 'archived'],
  archived: ['deleting', 'deleted'],
  deleting: ['deleted'],
  error: ['deleting'],
  deleted: [],
};

/**
 * Heartbeat silence marks a node down; an admitted report makes it recovering (also straight from
 * in-service: a node that restarted reports before its silence was noticed); its server recovery
 * puts it back in service. A node stuck recovering with no recovery of its own is marked down by
 * the repair loop, so that it reports again.
 */
export const NODE_TRANSITIONS: Record<NodeState, NodeState[]> = {
  'in-service': ['down', 'recovering'],
  down: ['recovering'],
  recovering: ['in-service', 'down'],
};

/**
 * in-service → recovering (its node's report admitted) → candidate (kept by investigation) →
 * restored (elected) → in-service (decision); a superseded winner is a candidate again, an
 * identical twin joins as in-service. A copy still rebuilding when its node (or its source's)
 * failed is offered like any other (candidate). A member leaves as stale (failover, decision, abandoned
 * rebuild); any copy may be deleted once the deletion re-check allows; a node that once held a
 * deleted copy may be a rebuild target again. A recovering copy of a node that never crashed
 * rejoins as it was.
 */
export const REPLICA_TRANSITIONS: Record<ReplicaState, ReplicaState[]> = {
  'in-service': ['recovering', 'candidate', 'stale', 'deleted'],
  recovering: ['in-service', 'candidate', 'stale', 'deleted'],
  candidate: ['restored', 'in-service', 'stale', 'deleted'],
  restored: ['candidate', 'in-service', 'stale', 'deleted'],
  rebuilding: ['in-service', 'candidate', 'stale', 'deleted'],
  stale: ['deleted'],
  deleted: ['rebuilding'],
};

/** Whether `table` allows the move; writing the state a row already has is always allowed. */
export function canTransition<S extends string>(table: Record<S, S[]>, from: S, to: S): boolean {
  return from === to || table[from].includes(to);
}
