// Incidents of one node: how a report is admitted against the node's open incidents, which incident
// may move the node, and when a server recovery's wait is over. Incidents are numbered in admission
// order; the newest one speaks for the node, and an older one only finishes. A volume recovery
// resolves the offer of every incident that offered a copy when it is settled
// (volume-recovery-steps.ts, notifyOffers); an incident is told when its last offer is resolved,
// re-reads the inventory (`reconcile`), and so does one that missed any word, on a timer.
import type { ReplicaState, VolumeState } from '../states.js';

/** An incident of the node not yet finished nor superseded. */
export interface OpenIncident {
  incident: number;
  /** When the scan it was admitted with was taken; null for incidents admitted before this was kept. */
  scannedAt: string | null;
  /** The node was put back in service by it: its server recovery waits in configuration. */
  inService: boolean;
}

/**
 * What admitting a report does. A report is retried with the same scan until the node hears that
 * it was admitted, so the same scan joins the incident admitted with it. A retry that arrives after
 * that incident moved on (back in service, finished or superseded: the node missed the answer,
 * e.g. it timed out under load) is a `repeat`: answered, and nothing else happens (at 200 nodes
 * such late retries became new incidents, three a node, each taking the node out of service).
 * A new scan (the node restarted or was declared down again) is a new incident, and every open
 * incident of the node is superseded by it: its copies are on the node's disk and in the new
 * scan, so the new incident examines and offers them again (the handing over), while the older
 * server recoveries finish without moving the node. A new incident that only supersedes one still
 * before service takes no admission slot of its own. `admittedWithScan`: the newest incident of
 * the node, open or not, admitted with this very scan.
 */
export type Admission =
  { kind: 'join'; incident: number } | { kind: 'repeat'; incident: number } | { kind: 'new'; supersedes: number[]; needsSlot: boolean };

export function admissionFor(open: OpenIncident[], scannedAt: string, admittedWithScan: number | null = null): Admission {
  const sameScan = open.find((o) => !o.inService && (o.scannedAt === scannedAt || o.scannedAt === null));
  if (sameScan) return { kind: 'join', incident: sameScan.incident };
  if (admittedWithScan !== null) return { kind: 'repeat', incident: admittedWithScan };
  const beforeService = open.some((o) => !o.inService);
  return { kind: 'new', supersedes: open.map((o) => o.incident).sort((a, b) => a - b), needsSlot: !beforeService };
}

/** Only the node's newest incident, while not superseded, may put the node back in service. */
export function mayMoveNode(incident: number, newest: number, superseded: boolean): boolean {
  return !superseded && incident >= newest;
}

/** A copy a volume recovery holds: offered (candidate) or elected and restored. Only that recovery decides for it. */
export function isHeldByRecovery(state: ReplicaState): boolean {
  return state === 'candidate' || state === 'restored';
}

/**
 * Is a node's copy settled, as its server recovery sees it: the volume is gone, or the copy is no
 * longer recovering, offered or restored (a decision put it in service, or it was deleted or left
 * the membership). A restored copy awaiting its owner is not settled.
 */
export function copySettled(volume: VolumeState | null, copy: ReplicaState | null): boolean {
  if (volume === null || volume === 'deleted' || volume === 'archived') return true;
  if (copy === null) return true;
  return !(isHeldByRecovery(copy) || copy === 'recovering');
}

/** What a configuration phase's re-read of the inventory concludes. */
export type Reconciled = { kind: 'superseded'; by: number | null } | { kind: 'waiting'; unsettled: string[] } | { kind: 'settled' };

/** One candidate a configuration phase waits for; `resolved`: its volume recovery said it is done with the offer. */
export interface AwaitedOffer {
  volumeId: string;
  volume: VolumeState | null;
  copy: ReplicaState | null;
  resolved: boolean;
}

/**
 * A candidate no longer awaited: its volume recovery resolved the offer (even when that left the
 * copy undecided, e.g. a delete the node refused), or the inventory shows the copy settled (a
 * word that never came does not strand the wait).
 */
export function offerSettled(w: AwaitedOffer): boolean {
  return w.resolved || copySettled(w.volume, w.copy);
}

export function reconcile(superseded: { by: number | null } | null, waitingFor: AwaitedOffer[]): Reconciled {
  if (superseded) return { kind: 'superseded', by: superseded.by };
  const unsettled = waitingFor.filter((w) => !offerSettled(w)).map((w) => w.volumeId);
  return unsettled.length === 0 ? { kind: 'settled' } : { kind: 'waiting', unsettled };
}
