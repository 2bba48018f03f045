// serverRecovery: one node incident, through notice → investigation → recovery → configuration.
import {
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  copyResolvedSignal,
  offersResolvedSignal,
  phaseQuery,
  RecoveryPhaseKey,
  reportSignal,
  StorageNodeKey,
  supersededSignal,
  type RecoveryPhase,
} from '../common/messages.js';
import type { ScanReport, StoredReport } from '../common/types.js';
import type { ClassifiedCopy, CopyRef } from '../activities/inventory.js';
import { CONTROL, CONTROL_PAGE, LOCAL_CONTROL, OFFER_PAGE } from './activity-profiles.js';
import { mapBounded, pages } from './bounded.js';
import { deleteUnlessRefused, failOver } from './failover.js';

const control = proxyActivities<Activities>(CONTROL);
const paged = proxyActivities<Activities>(CONTROL_PAGE);
const offers = proxyActivities<Activities>(OFFER_PAGE);
const localInventory = proxyLocalActivities<Activities>(LOCAL_CONTROL);

/** Histories recorded before it ran one activity per step over every copy at once. */
export const PAGED_PATCH = 'server-recovery-paged';
/** Copies per investigate or offer activity, such pages in flight, and copies being discarded at once: far below 2,000 pending activities. */
export const PAGE_COPIES = 250;
export const PAGES_IN_FLIGHT = 4;
export const DISCARDS_IN_FLIGHT = 200;
/** A configuration phase continues as new before its history nears Temporal's 10,240-event warning. */
export const CONFIGURATION_EVENTS = 8_000;
/**
 * Histories recorded before incidents were ordered: the configuration phase waited on signals alone,
 * resuming the node was unconditional, and the incident's end was not recorded.
 */
export const RECONCILE_PATCH = 'server-recovery-reconcile';
/** How often a waiting configuration phase re-reads the inventory, unless the API says otherwise. */
export const DEFAULT_RECONCILE_MS = 30_000;
/** Histories recorded before an incident was told once, on its last offer resolved: a re-read read one page, however woken. */
export const TOLD_ONCE_PATCH = 'server-recovery-told-once';
/** Histories recorded before the configuration phase's re-reads and the incident's end ran as local activities (inventory calls, as in volume recoveries). */
export const LOCAL_INVENTORY_PATCH = 'server-recovery-local-inventory-calls';

/** The configuration phase's inventory calls: local activities since LOCAL_INVENTORY_PATCH. */
function inventory(): Pick<Activities, 'reconcileIncident' | 'finishIncident'> {
  return patched(LOCAL_INVENTORY_PATCH) ? localInventory : control;
}

export interface ServerRecoveryInput {
  nodeId: string;
  incident: number;
  /** How often the configuration phase re-reads the inventory (the API's RECONCILE_MS). */
  reconcileMs?: number;
  /** Set when the configuration phase continued as new: what the run before it found, and the candidates still undecided. */
  configuration?: ConfigurationState;
}

interface ConfigurationState {
  unresolved: string[];
  result: ServerRecoveryResult;
}

export interface ServerRecoveryResult {
  deleted: number;
  rejoined: number;
  candidates: number;
  /** A newer incident of the node took over: this one moved nothing more. */
  superseded?: boolean;
}

export async function serverRecovery(input: ServerRecoveryInput): Promise<ServerRecoveryResult> {
  const { nodeId } = input;
  let phase: RecoveryPhase = input.configuration ? 'configuration' : 'notice';
  let report: Report | null = null;
  const unresolved = new Set<string>(input.configuration?.unresolved);
  const resolved = new Set<string>(); // a resolution may arrive before its offer is recorded here
  const wake = { recheck: false };
  setHandler(phaseQuery, () => phase);
  setHandler(supersededSignal, () => void (wake.recheck = true));
  setHandler(offersResolvedSignal, () => void (wake.recheck = true));
  setHandler(reportSignal, (r) => void (report ??= r));
  setHandler(copyResolvedSignal, ({ volumeId }) => {
    resolved.add(volumeId);
    unresolved.delete(volumeId);
    if (phase === 'configuration') setCurrentDetails(waitingFor(unresolved));
  });
  const enter = (next: RecoveryPhase, details: string) => {
    phase = next;
    setCurrentDetails(details);
    upsertSearchAttributes([
      { key: RecoveryPhaseKey, value: next },
      { key: StorageNodeKey, value: nodeId },
    ]);
  };
  if (input.configuration) return configure(input, unresolved, input.configuration.result, enter, wake, true);

  enter('notice', `Waiting for ${nodeId}'s recovery report (its scan of every copy)`);
  await condition(() => report !== null);
  const dense = patched(PAGED_PATCH);

  enter('investigation', `Classifying ${copiesIn(report!)} copies against the inventory: stale, orphan, duplicate, rejoin or candidate`);
  const copies = await investigate(nodeId, report!, dense);

  enter('recovery', `Deleting the copies no one needs, offering candidates to their volume recoveries, then resuming ${nodeId}'s service`);
  const kept = await mapBounded(copies, dense ? DISCARDS_IN_FLIGHT : copies.length, (c) => discardUnlessCandidate(nodeId, c));
  const candidates = copies.filter((_, i) => kept[i]);
  const serverRecoveryId = workflowInfo().workflowId;
  await offer(nodeId, serverRecoveryId, report!, candidates, dense);
  for (const c of candidates) if (!resolved.has(c.volumeId)) unresolved.add(c.volumeId);
  const ordered = patched(RECONCILE_PATCH);
  const { resumed } = (await control.resumeNodeService({ nodeId, workflowId: serverRecoveryId, scannedAt: report!.scannedAt })) ?? {
    resumed: true,
  };

  const rejoined = copies.filter((c, i) => c.classification === 'rejoin' && !kept[i]).length;
  const result = { deleted: copies.length - candidates.length - rejoined, rejoined, candidates: candidates.length };
  // Refused: a newer scan of the node exists. Its incident supersedes this one; re-read at once.
  if (ordered && !resumed) wake.recheck = true;
  return configure(input, unresolved, result, enter, wake, dense);
}

async function finish(workflowId: string, result: ServerRecoveryResult): Promise<ServerRecoveryResult> {
  await inventory().finishIncident({ workflowId });
  return result;
}

/**
 * Waits until every candidate has a decision (a copyResolved signal each). A node with thousands
 * of candidates receives thousands of signals: the phase continues as new, carrying the
 * undecided ones, before its history grows past Temporal's limits.
 */
async function configure(
  input: ServerRecoveryInput,
  unresolved: Set<string>,
  result: ServerRecoveryResult,
  enter: (phase: RecoveryPhase, details: string) => void,
  wake: { recheck: boolean },
  mayContinue: boolean,
): Promise<ServerRecoveryResult> {
  enter('configuration', waitingFor(unresolved));
  const tooLong = () => mayContinue && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > CONFIGURATION_EVENTS);
  if (!patched(RECONCILE_PATCH)) {
    await condition(() => unresolved.size === 0 || tooLong());
  } else if ((await reconcileUntilSettled(input, unresolved, wake, tooLong)) === 'superseded') {
    return finish(workflowInfo().workflowId, { ...result, superseded: true });
  }
  if (unresolved.size === 0) return patched(RECONCILE_PATCH) ? finish(workflowInfo().workflowId, result) : result;
  return continueAsNew<typeof serverRecovery>({ ...input, configuration: { unresolved: [...unresolved], result } });
}

/**
 * Re-reads the inventory when told (its last offer resolved, or a newer incident of the node) and
 * every `reconcileMs`, so a lost or misdirected word never strands the wait. It ends when every
 * candidate is settled, when a newer incident of the node superseded this one, or when the history
 * should continue as new. Copies resolved by offers made before offers were recorded still come
 * one copyResolved signal each.
 */
async function reconcileUntilSettled(
  input: ServerRecoveryInput,
  unresolved: Set<string>,
  wake: { recheck: boolean },
  tooLong: () => boolean,
): Promise<'settled' | 'superseded' | 'continue'> {
  const { nodeId } = input;
  const workflowId = workflowInfo().workflowId;
  const toldOnce = patched(TOLD_ONCE_PATCH);
  for (;;) {
    await condition(() => unresolved.size === 0 || wake.recheck || tooLong(), input.reconcileMs ?? DEFAULT_RECONCILE_MS);
    if (unresolved.size === 0) return 'settled';
    if (tooLong()) return 'continue';
    // A page per activity: a dense node's thousands of ids would swell every re-read's history
    // event. Told, it reads every page; on the timer, the first.
    const all = pages([...unresolved], PAGE_COPIES);
    const reading = toldOnce && wake.recheck ? all : all.slice(0, 1);
    wake.recheck = false;
    for (const volumeIds of reading) {
      const found = await inventory().reconcileIncident({ nodeId, workflowId, volumeIds });
      if (found.kind === 'superseded') return 'superseded';
      const still = new Set(found.kind === 'waiting' ? found.unsettled : []);
      for (const id of volumeIds) if (!still.has(id)) unresolved.delete(id);
    }
    setCurrentDetails(waitingFor(unresolved));
  }
}

type Report = ScanReport | StoredReport;

/** The API stores reports in the inventory; histories recorded before that carry the whole scan. */
function isStored(report: Report): report is StoredReport {
  return 'reportId' in report;
}

function copiesIn(report: Report): number {
  return isStored(report) ? report.copies : report.replicas.length;
}

async function investigate(nodeId: string, report: Report, dense: boolean): Promise<CopyRef[]> {
  if (isStored(report)) {
    const offsets = Array.from({ length: Math.ceil(report.copies / PAGE_COPIES) }, (_, i) => i * PAGE_COPIES);
    const { crashed, reportId } = report;
    const classified = await mapBounded(offsets, PAGES_IN_FLIGHT, (offset) =>
      paged.investigateStored({ nodeId, crashed, reportId, offset, limit: PAGE_COPIES }),
    );
    return classified.flat();
  }
  if (!dense) return control.investigate({ nodeId, scan: report });
  const classified = await mapBounded(pages(report.replicas, PAGE_COPIES), PAGES_IN_FLIGHT, (replicas) =>
    paged.investigate({ nodeId, scan: { ...report, replicas } }),
  );
  return classified.flat();
}

/** Offers the candidates to their volume recoveries, a page of them per activity. */
async function offer(nodeId: string, serverRecoveryId: string, report: Report, candidates: CopyRef[], dense: boolean): Promise<void> {
  if (isStored(report)) {
    const { reportId } = report;
    await mapBounded(pages(candidates, PAGE_COPIES), PAGES_IN_FLIGHT, (page) =>
      offers.offerStoredCandidates({ nodeId, serverRecoveryId, reportId, volumeIds: page.map((c) => c.volumeId) }),
    );
    return;
  }
  const copies = candidates as ClassifiedCopy[]; // investigated from the scan itself: every field is there
  if (!dense) return control.offerCandidates({ nodeId, serverRecoveryId, copies });
  await mapBounded(pages(copies, PAGE_COPIES), PAGES_IN_FLIGHT, (page) =>
    offers.offerCandidates({ nodeId, serverRecoveryId, copies: page }),
  );
}

/** What the configuration phase waits for, for the Temporal UI's current details. */
function waitingFor(unresolved: Set<string>): string {
  if (unresolved.size === 0) return 'Every candidate has a decision';
  const some = [...unresolved].slice(0, 10).join(', ');
  return `Node back in service; waiting for ${unresolved.size} volume recoveries to decide (their owners' review or proof): ${some}${unresolved.size > 10 ? ', …' : ''}`;
}

/**
 * A copy of a node that never crashed rejoins, or, when a volume recovery took a peer since its
 * classification, is kept as a candidate for that recovery. Deletes a stale or orphan copy. A
 * duplicate first leaves the membership (its peer takes over at epoch+1); if that peer does not
 * answer after all, the copy is kept as a candidate. Returns true when the copy is kept.
 */
async function discardUnlessCandidate(nodeId: string, c: CopyRef): Promise<boolean> {
  if (c.classification === 'candidate') return true;
  if (c.classification === 'rejoin') {
    const rejoined = await control.recordRejoined({ volumeId: c.volumeId, nodeId });
    if (rejoined === 'offer') return true;
    if (rejoined) {
      await control.resumeCopyIo({ nodeId, volumeId: c.volumeId });
      return false;
    }
  }
  if (c.classification === 'duplicate' && (await failOver(c.volumeId, nodeId)) === 'no-survivor') return true;
  return !(await deleteUnlessRefused({ nodeId, volumeId: c.volumeId, reason: c.classification }));
}
