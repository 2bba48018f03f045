// volumeRecovery: one volume incident. Collects candidate copies, waits for peers, elects the
// authoritative copy, restores it read-only with I/O held, deletes the others only after
// that, and enables I/O on proof of no data loss or on the customer's decision.
import { condition, getExternalWorkflowHandle, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { VolumeRecoveryInput } from '../activities/coordination.js';
import {
  candidateSignal, copyResolvedSignal, enableIoUpdate, phaseQuery, RecoveryPhaseKey, volumeStatusQuery, VolumeIdKey,
  type CustomerDecision, type RecoveryPhase,
} from '../common/messages.js';
import { allPeersReported, electAuthoritative, supersedes } from '../common/rules/elect.js';
import { proveNoDataLoss, twinsOf } from '../common/rules/proof.js';
import type { CandidateReport } from '../common/types.js';
import { CONTROL, DATA } from './activity-profiles.js';
import { deleteUnlessRefused } from './failover.js';

const control = proxyActivities<Activities>(CONTROL);
const data = proxyActivities<Activities>(DATA);

export async function volumeRecovery(input: VolumeRecoveryInput): Promise<{ winner: string; decision: string; epoch: number }> {
  const { volumeId } = input;
  const candidates = new Map<string, CandidateReport>();
  const settled = new Set<string>();
  /** Every server recovery that offered a node's copy (a node that crashes again offers anew). */
  const offeredBy = new Map<string, Set<string>>();
  let phase: RecoveryPhase = 'notice';
  let winner: CandidateReport | null = null;
  let proof: string | null = null;
  let decision: CustomerDecision | 'auto-enable' | null = null;
  let enabledEpoch: number | null = null;

  const outcomes = new Map<string, string>();
  setHandler(candidateSignal, (report) => {
    candidates.set(report.nodeId, report);
    offeredBy.set(report.nodeId, (offeredBy.get(report.nodeId) ?? new Set()).add(report.serverRecoveryId));
    const outcome = outcomes.get(report.nodeId);
    if (outcome) void notify(report.serverRecoveryId, outcome); // settled before: tell the new offer too
  });
  setHandler(phaseQuery, () => phase);
  setHandler(volumeStatusQuery, () => ({
    phase, volumeId, candidates: [...candidates.keys()], winner: winner?.nodeId ?? null, proof,
    awaitingDecision: phase === 'configuration' && decision === null, decision,
  }));
  setHandler(
    enableIoUpdate,
    async () => {
      decision ??= 'enable-io';
      const alreadyApplied = enabledEpoch !== null;
      await condition(() => enabledEpoch !== null);
      return { decision: 'enable-io' as const, epoch: enabledEpoch!, alreadyApplied };
    },
    {
      validator: () => {
        if (phase !== 'configuration') throw new Error(`volume ${volumeId} is still being recovered (${phase}); try again shortly`);
      },
    },
  );
  const enter = (next: RecoveryPhase) => {
    phase = next;
    upsertSearchAttributes([{ key: RecoveryPhaseKey, value: next }, { key: VolumeIdKey, value: volumeId }]);
  };

  enter('investigation');
  await condition(() => allPeersReported(input.expectedNodes, [...candidates.keys()]), input.peerWaitMs);

  enter('recovery');
  if (!(await control.incidentIsCurrent({ volumeId, epoch: input.epoch }))) {
    for (const c of candidates.values()) await discard(c, 'superseded: the volume serves from another copy');
    return { winner: 'none', decision: 'superseded', epoch: input.epoch };
  }
  winner = electAuthoritative([...candidates.values()])!.winner;
  ({ winner, proof } = await restoreAuthority(volumeId, winner, [...candidates.values()]));
  await settleOthers();

  enter('configuration');
  for (;;) {
    if (decision === null && proof && (await control.volumeSettings({ volumeId })).autoEnableIo) decision = 'auto-enable';
    if (decision !== null) break;
    await condition(() => decision !== null || hasUnsettled());
    await settleOthers();
  }

  const epoch = input.epoch + 1;
  await control.enableCopy({ nodeId: winner.nodeId, volumeId, epoch });
  await control.recordEnabled({ volumeId, nodeId: winner.nodeId, epoch, auto: decision === 'auto-enable', proof });
  enabledEpoch = epoch;
  await resolve(winner, decision);
  while (hasUnsettled()) await settleOthers();
  return { winner: winner.nodeId, decision, epoch };

  function hasUnsettled(): boolean {
    return [...candidates.keys()].some((n) => n !== winner!.nodeId && !settled.has(n));
  }

  /**
   * Every copy but the winner is deleted once the winner is restored. A late copy with more
   * authority (before any decision) takes over instead, and the old winner is the one deleted.
   */
  async function settleOthers(): Promise<void> {
    for (const late of [...candidates.values()].filter((c) => c.nodeId !== winner!.nodeId && !settled.has(c.nodeId))) {
      if (decision === null && supersedes(late, winner!)) {
        const previous = winner!;
        ({ winner, proof } = await restoreAuthority(volumeId, late, [...candidates.values()]));
        await discard(previous);
      } else {
        proof ??= prove(winner!, twinsOf(winner!, [winner!, late]));
        await discard(late);
      }
    }
  }

  async function discard(copy: CandidateReport, reason = `copy on ${winner?.nodeId} was elected`): Promise<void> {
    const deleted = await deleteUnlessRefused({ nodeId: copy.nodeId, volumeId, reason }, true);
    await resolve(copy, deleted ? 'deleted' : 'kept: not deleted (refused or unreachable)');
  }

  async function resolve(copy: CandidateReport, outcome: string): Promise<void> {
    settled.add(copy.nodeId);
    outcomes.set(copy.nodeId, outcome);
    for (const id of offeredBy.get(copy.nodeId) ?? []) await notify(id, outcome);
  }

  async function notify(serverRecoveryId: string, outcome: string): Promise<void> {
    await getExternalWorkflowHandle(serverRecoveryId)
      .signal(copyResolvedSignal, { volumeId, outcome })
      .catch(() => undefined); // that server recovery already ended: nothing waits for this copy
  }
}

/** Restores the elected copy read-only and digests its twins for a proof of no data loss. */
async function restoreAuthority(
  volumeId: string,
  elected: CandidateReport,
  all: CandidateReport[],
): Promise<{ winner: CandidateReport; proof: string | null }> {
  const restored = await data.restoreCopy({ nodeId: elected.nodeId, volumeId });
  const winner = { ...elected, replica: restored };
  await control.recordRestored({ volumeId, nodeId: winner.nodeId, writeSeq: restored.writeSeq });
  return { winner, proof: prove(winner, twinsOf(winner, all)) };
}

/**
 * Proof from the digests the nodes computed in their recovery scans (in the same pass as the
 * CRC check; I/O has been held since, so they still hold): no extra read of any copy.
 */
function prove(winner: CandidateReport, twins: CandidateReport[]): string | null {
  const digests = twins.map((t) => ({ nodeId: t.nodeId, epoch: t.replica.epoch, writeSeq: t.replica.writeSeq, digest: t.replica.digest }));
  return proveNoDataLoss(winner, digests);
}
