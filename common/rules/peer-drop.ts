// A primary that cannot reach its secondary asks to serve alone. The control plane decides:
// only the serving primary at the volume's current epoch, heard from just now, may drop a
// member secondary, and never while the fleet looks like a mass outage.
import type { ReplicaRole } from '../types.js';
import type { VolumeState } from '../states.js';
import { isHealthy, isMember, type ReplicaStanding } from './health.js';

export interface PeerDropRequest {
  requester: string;
  peer: string;
  /** The epoch the requester serves at. */
  epoch: number;
}

export type PeerDropCopy = ReplicaStanding & { nodeId: string; role: ReplicaRole };

export type PeerDropRefusal = 'volume-gone' | 'stale-epoch' | 'not-serving-primary' | 'peer-not-secondary' | 'same-node' | 'mass-outage';

/**
 * Why the control plane refuses to let `requester` serve alone, or null. A requester the control
 * plane has not heard from (declared down, recovering, heartbeat stale) is refused: a copy cut
 * off from the control plane may not serve alone — its peer may be the one promoted instead.
 */
export function peerDropRefusal(
  req: PeerDropRequest,
  volume: { state: VolumeState; epoch: number } | null,
  replicas: PeerDropCopy[],
): Exclude<PeerDropRefusal, 'mass-outage'> | null {
  if (!volume || volume.state === 'deleted' || volume.state === 'deleting') return 'volume-gone';
  if (req.requester === req.peer) return 'same-node';
  if (volume.epoch !== req.epoch) return 'stale-epoch';
  const self = replicas.find((r) => r.nodeId === req.requester);
  if (!self || self.role !== 'primary' || !isHealthy(self)) return 'not-serving-primary';
  const peer = replicas.find((r) => r.nodeId === req.peer);
  if (!peer || peer.role !== 'secondary' || !isMember(peer)) return 'peer-not-secondary';
  return null;
}

/**
 * The mass-outage breaker, counting the nodes primaries say they cannot reach with the silent
 * and down ones: when a router's worth of nodes is cut off, the primaries outside it would
 * otherwise each re-mirror a volume at once — the storm of EBS's April 2011 outage. While it
 * holds, their writes wait (not acknowledged, not failed) until the network returns.
 */
export function holdsPeerDrops(
  fleet: { suspects: Iterable<string>; down: Iterable<string>; accused: Iterable<string>; total: number },
  massOutageShare: number,
): boolean {
  const unreachable = new Set([...fleet.suspects, ...fleet.down, ...fleet.accused]);
  return unreachable.size > massOutageShare * fleet.total;
}
