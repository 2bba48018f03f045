// Failover: which copy takes over, when it may not, when the fleet holds it back, and when a
// volume's recovery incident has been overtaken by one.
import type { IoState, ReplicaMode, ReplicaRole } from '../types.js';
import type { VolumeState } from '../states.js';
import { isHealthy, isMember, type ReplicaStanding } from './health.js';

type Copy = ReplicaStanding & { nodeId: string };

/**
 * The member that would serve alone when the copy on `leaving` fails over: a healthy member on
 * another node. None when `leaving` holds no member copy (nothing to fail over) or no other
 * member is healthy.
 */
export function failoverSurvivor<C extends Copy>(replicas: C[], leaving: string): C | null {
  const self = replicas.find((r) => r.nodeId === leaving);
  const survivor = replicas.find((r) => r.nodeId !== leaving && isMember(r) && isHealthy(r));
  if (!self || !isMember(self) || !survivor) return null;
  return survivor;
}

/**
 * Is a volume incident (named by the volume's epoch at classification) still current? Not when
 * the volume is gone, its epoch moved on, or a primary serves it again (a failover won a race):
 * then its candidates are stale, not authorities. A healthy secondary alone does not serve: its
 * primary may be the very candidate under recovery (chaos F2).
 */
export function volumeIncidentIsCurrent(
  volume: { state: VolumeState; epoch: number } | null,
  epoch: number,
  replicas: (Copy & { role: ReplicaRole })[],
): boolean {
  if (!volume || volume.state === 'deleted' || volume.epoch !== epoch) return false;
  return !replicas.some((r) => r.role === 'primary' && isMember(r) && isHealthy(r));
}

/** What a node knows of a copy it is asked to configure. */
export interface NodeCopyView {
  /** The node is recovering: its copies are under investigation. */
  nodeRecovering: boolean;
  /** The request is a failover's promotion. */
  failover: boolean;
  /** Scanned for a recovery and neither enabled nor deleted since. */
  scanned: boolean;
  /** The copy's persisted state; absent when the node holds no such copy. */
  copy: { ioState: IoState; mode: ReplicaMode } | undefined;
}

/**
 * Why a node refuses a membership change, or null. A recovering node refuses any: its copies
 * are under investigation and must not be promoted meanwhile. After the node resumes service, a
 * copy still held for its volume's recovery (scanned, neither enabled nor deleted since; or,
 * after a restart, persisted as paused, restored or rebuilding) refuses a failover: only its
 * volume recovery decides for it.
 */
export function configureRefusal(v: NodeCopyView): 'node-recovering' | 'copy-recovering' | null {
  if (v.nodeRecovering) return 'node-recovering';
  if (v.failover && (v.scanned || v.copy?.ioState === 'paused' || v.copy?.mode !== 'normal')) return 'copy-recovering';
  return null;
}

/**
 * The mass-outage breaker: when more than `massOutageShare` of the fleet is unreachable at once
 * (suspects half-way to their timeout count too, plus nodes already down), nothing is failed
 * over — re-mirroring a third of a fleet is the storm to avoid; the nodes will report when they
 * return. Single-node failures still fail over at once.
 */
export function holdsFailover(fleet: { suspects: number; down: number; total: number }, massOutageShare: number): boolean {
  return fleet.suspects + fleet.down > massOutageShare * fleet.total;
}

/** What a node's health endpoint answers the monitor's probe (storage-node/contract.ts `NodeHealth`, which always says `reporting`). */
export interface ProbeAnswer {
  nodeId: string;
  bootId: string;
  recovering: boolean;
  /** It has a recovery report to deliver: scanning, sending, or retrying it until admitted. Absent from older nodes. */
  reporting?: boolean;
}

/**
 * A silent node that answers the monitor's own probe as itself is alive, and its heartbeats were
 * lost or late (an API or a machine too busy to take them in time):
 * - answering as the boot it last heartbeat from and not recovering, it serves, and failing it over
 *   would only re-mirror what it serves;
 * - recovering with its report on the way — turned away by the admission bound and waiting in the
 *   queue, or scanning, sending or retrying it (the node says so) — its own incident is coming:
 *   failing it over would start a second one, promoting peers that are often recovering themselves
 *   and rebuilding its copies. That holds for a node that restarted too (a crash it reports, whose
 *   first heartbeat of the new boot is late): with that heartbeat on time it would not have been
 *   failed over either, its report alone deciding for its copies.
 * Kept, it is treated as if its heartbeats had come on time. A node that restarted and has nothing
 * to report (yet), one recovering with no report on the way — holding its I/O because it lost the
 * network (holding is recovering) — and one that does not answer are failed over as before.
 */
export function answersForItself(node: { id: string; bootId: string; awaitingAdmission: boolean }, probe: ProbeAnswer | null): boolean {
  return keepsFromFailover(probeVerdict(node, probe));
}

/** The verdicts that keep a silent node from failover: it serves, or its own incident is on the way. */
export function keepsFromFailover(verdict: ProbeVerdict): boolean {
  return verdict === 'serving' || verdict === 'queued' || verdict === 'reporting';
}

/**
 * What a silent node's probe answer says of it, as the heartbeat monitor logs it: `serving`,
 * `queued` (its report turned away by the admission bound, as the API recorded) and `reporting`
 * (its report on the way, as the node says, from the same boot or a new one) are kept
 * (`answersForItself`); `no-answer`, `another-node`, `restarted` (a new boot with nothing on the
 * way) and `holding` (recovering with no report to deliver) are failed over.
 */
export type ProbeVerdict = 'serving' | 'queued' | 'reporting' | 'no-answer' | 'another-node' | 'restarted' | 'holding';

export function probeVerdict(node: { id: string; bootId: string; awaitingAdmission: boolean }, probe: ProbeAnswer | null): ProbeVerdict {
  if (probe === null) return 'no-answer';
  if (probe.nodeId !== node.id) return 'another-node';
  const sameBoot = node.bootId !== '' && probe.bootId === node.bootId;
  if (sameBoot && !probe.recovering) return 'serving';
  if (sameBoot && node.awaitingAdmission) return 'queued';
  if (probe.recovering && probe.reporting === true) return 'reporting';
  return sameBoot ? 'holding' : 'restarted';
}

/**
 * The breaker's hold-down: once tripped it keeps holding for `cooldownMs` after the outage stops
 * showing. When a partition heals, the cut-off nodes' first heartbeats and the primaries' retried
 * peer-drop requests race each other; without the hold-down the breaker closes on the first
 * check and fails over the nodes not heard from yet — the re-mirroring storm after the fact.
 * `holdUntil` is what the next check carries (milliseconds since the epoch, or null).
 */
export function massOutageHold(
  tripped: boolean,
  holdUntil: number | null,
  now: number,
  cooldownMs: number,
): { holding: boolean; holdUntil: number | null } {
  if (tripped) return { holding: true, holdUntil: Math.max(holdUntil ?? 0, now + cooldownMs) };
  if (holdUntil !== null && now < holdUntil) return { holding: true, holdUntil };
  return { holding: false, holdUntil: null };
}
