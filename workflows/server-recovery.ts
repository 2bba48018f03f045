// serverRecovery: one node incident, through notice → investigation → recovery → configuration.
import { condition, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { copyResolvedSignal, phaseQuery, RecoveryPhaseKey, reportSignal, StorageNodeKey, type RecoveryPhase } from '../common/messages.js';
import type { ScanReport } from '../common/types.js';
import type { ClassifiedCopy } from '../activities/inventory.js';
import { CONTROL } from './activity-profiles.js';
import { deleteUnlessRefused, failOver } from './failover.js';

const control = proxyActivities<Activities>(CONTROL);

export interface ServerRecoveryInput {
  nodeId: string;
  incident: number;
}

export async function serverRecovery({ nodeId }: ServerRecoveryInput): Promise<{ deleted: number; rejoined: number; candidates: number }> {
  let phase: RecoveryPhase = 'notice';
  let scan: ScanReport | null = null;
  const unresolved = new Set<string>();
  const resolved = new Set<string>(); // a resolution may arrive before its offer is recorded here
  setHandler(phaseQuery, () => phase);
  setHandler(reportSignal, (report) => void (scan ??= report));
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

  enter('notice', `Waiting for ${nodeId}'s recovery report (its scan of every copy)`);
  await condition(() => scan !== null);

  enter(
    'investigation',
    `Classifying ${scan!.replicas.length} copies against the inventory: stale, orphan, duplicate, rejoin or candidate`,
  );
  const copies = await control.investigate({ nodeId, scan: scan! });

  enter('recovery', `Deleting the copies no one needs, offering candidates to their volume recoveries, then resuming ${nodeId}'s service`);
  const kept = await Promise.all(copies.map((c) => discardUnlessCandidate(nodeId, c)));
  const candidates = copies.filter((_, i) => kept[i]);
  await control.offerCandidates({ nodeId, serverRecoveryId: workflowInfo().workflowId, copies: candidates });
  for (const c of candidates) if (!resolved.has(c.volumeId)) unresolved.add(c.volumeId);
  await control.resumeNodeService({ nodeId, workflowId: workflowInfo().workflowId });

  enter('configuration', waitingFor(unresolved));
  await condition(() => unresolved.size === 0);
  const rejoined = copies.filter((c) => c.classification === 'rejoin').length;
  return { deleted: copies.length - candidates.length - rejoined, rejoined, candidates: candidates.length };
}

/** What the configuration phase waits for, for the Temporal UI's current details. */
function waitingFor(unresolved: Set<string>): string {
  if (unresolved.size === 0) return 'Every candidate has a decision';
  const some = [...unresolved].slice(0, 10).join(', ');
  return `Node back in service; waiting for ${unresolved.size} volume recoveries to decide (their owners' review or proof): ${some}${unresolved.size > 10 ? ', …' : ''}`;
}

/**
 * A copy of a node that never crashed rejoins. Deletes a stale or orphan copy. A duplicate first leaves the membership (its peer takes over
 * at epoch+1); if that peer does not answer after all, the copy is kept as a candidate.
 * Returns true when the copy is kept.
 */
async function discardUnlessCandidate(nodeId: string, c: ClassifiedCopy): Promise<boolean> {
  if (c.classification === 'candidate') return true;
  if (c.classification === 'rejoin' && (await control.recordRejoined({ volumeId: c.volumeId, nodeId }))) {
    await control.resumeCopyIo({ nodeId, volumeId: c.volumeId });
    return false;
  }
  if (c.classification === 'duplicate' && (await failOver(c.volumeId, nodeId)) === 'no-survivor') return true;
  return !(await deleteUnlessRefused({ nodeId, volumeId: c.volumeId, reason: c.classification }));
}
