// A copy's standing in its volume, from the inventory's view of it and of its node.
import { MEMBER_STATES, type NodeState, type ReplicaState } from '../states.js';

export interface ReplicaStanding {
  state: ReplicaState;
  nodeState: NodeState;
  /** The node's last heartbeat still vouches for it. */
  nodeFresh: boolean;
}

/** Still part of the volume's membership (not stale, not deleted). */
export function isMember(r: { state: ReplicaState }): boolean {
  return MEMBER_STATES.includes(r.state);
}

/** Serving, on a node in service whose heartbeat is fresh: a silent node is never assumed healthy. */
export function isHealthy(r: ReplicaStanding): boolean {
  return r.state === 'in-service' && r.nodeState === 'in-service' && r.nodeFresh;
}

/**
 * Rejoined by its node's open incident, which has not put the node back in service yet: the copy
 * will serve as it is in a moment (or, if the incident is superseded, be investigated again).
 */
export function isRejoining(r: ReplicaStanding): boolean {
  return r.state === 'in-service' && r.nodeState === 'recovering';
}
