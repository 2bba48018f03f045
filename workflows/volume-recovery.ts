// volumeRecovery: one volume incident. Collects candidate copies, waits for peers, elects the
// authoritative copy, merge-restores it read-only with I/O held, deletes the others only after
// that, and then carries out a decision: enable I/O (on proof, or the customer's), snapshot,
// archive, transfer or delete — or archive when the review deadline passes undecided.
import {
  ApplicationFailure, condition, getExternalWorkflowHandle, proxyActivities, setHandler, upsertSearchAttributes, uuid4,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { VolumeRecoveryInput } from '../activities/coordination.js';
import {
  candidateSignal, copyResolvedSignal, DECISION_ACTIONS, decideUpdate, phaseQuery, RecoveryPhaseKey, volumeStatusQuery,
  VolumeIdKey, type DecisionRequest, type DecisionResult, type RecoveryPhase, type ReviewOutcome,
} from '../common/messages.js';
import { allPeersReported, electAuthoritative, supersedes } from '../common/rules/elect.js';
import { blocksByPeer, planRepairs } from '../common/rules/merge.js';
import { proveBySnapshot, proveNoDataLoss, twinsOf } from '../common/rules/proof.js';
import type { CandidateReport, RestoredReplica } from '../common/types.js';
import { CONTROL, DATA } from './activity-profiles.js';
import { addCopy, archiveVolume, deleteVolume, takeSnapshot } from './copies.js';
import { deleteUnlessRefused, rebuildSecondary } from './failover.js';

const control = proxyActivities<Activities>(CONTROL);
const data = proxyActivities<Activities>(DATA);
/** A node that should be up: about half a minute of tries, then the caller decides. */
const probeLonger = proxyActivities<Activities>({ ...CONTROL, retry: { ...CONTROL.retry, maximumAttempts: 10 } });

type Winner = CandidateReport & { replica: RestoredReplica };

/** A deadline archive that failed (e.g. the store is unreachable) is tried again this much later. */
const DEADLINE_RETRY_MS = 60_000;

export async function volumeRecovery(input: VolumeRecoveryInput): Promise<{ winner: string; decision: string; epoch: number }> {
  const { volumeId } = input;
  const candidates = new Map<string, CandidateReport>();
  const settled = new Set<string>();
  /** Every server recovery that offered a node's copy (a node that crashes again offers anew). */
  const offeredBy = new Map<string, Set<string>>();
  let phase: RecoveryPhase = 'notice';
  let winner: Winner | null = null;
  /** A copy identical to the winner, kept to become its secondary if I/O is enabled (no rebuild). */
  let standby: CandidateReport | null = null;
  let proof: string | null = null;
  let review: ReviewOutcome | null = null;
  let result: DecisionResult | null = null;
  let failure: { review: ReviewOutcome; message: string } | null = null;
  let reviewDeadline: string | null = null;
  const snapshotQueue: string[] = [];
  const snapshotsTaken = new Map<string, boolean>();

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
    awaitingDecision: phase === 'configuration' && review === null, decision: review, reviewDeadline,
    unrecoverableBlocks: winner?.replica.unrecoverableBlocks ?? [],
  }));
  setHandler(decideUpdate, (request) => (request.action === 'snapshot' ? snapshotDecision(request) : finalDecision(request)), {
    validator: (request: DecisionRequest) => {
      if (!DECISION_ACTIONS.includes(request?.action)) throw new Error(`action must be one of ${DECISION_ACTIONS.join(', ')}`);
      if (phase !== 'configuration') throw new Error(`volume ${volumeId} is still being recovered (${phase}); try again shortly`);
      if (request.action === 'snapshot' && !/^[\w-]{1,80}$/.test(request.snapshotId ?? '')) throw new Error('a snapshot decision needs a snapshot id');
      if (review && request.action === 'snapshot') throw new Error(`volume ${volumeId} is already being decided (${review.action})`);
      if (review && review.action !== request.action) throw new Error(`volume ${volumeId} is already being decided: ${review.action} (${review.by})`);
    },
  });
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
  ({ winner, proof } = await restoreAuthority(volumeId, electAuthoritative([...candidates.values()])!.winner, [...candidates.values()]));
  await settleOthers();

  enter('configuration');
  let deadline = Date.now() + input.reviewDeadlineMs;
  reviewDeadline = new Date(deadline).toISOString();
  for (;;) {
    if (review === null && proof && (await control.volumeSettings({ volumeId })).autoEnableIo) review = { action: 'enable-io', by: 'proof' };
    while (snapshotQueue.length > 0) {
      const snapshotId = snapshotQueue.shift()!;
      snapshotsTaken.set(snapshotId, (await takeSnapshot(volumeId, snapshotId, 'review', winner.nodeId)) !== null);
    }
    if (review !== null) {
      try {
        result = await carryOut(review);
        break;
      } catch (err) {
        if (!(err instanceof ApplicationFailure && err.type === 'DecisionFailed')) throw err;
        failure = { review, message: err.message };
        if (review.by === 'deadline') deadline = Date.now() + DEADLINE_RETRY_MS;
        review = null; // the volume keeps waiting for a decision
      }
    }
    const woken = await condition(() => review !== null || hasUnsettled() || snapshotQueue.length > 0, Math.max(0, deadline - Date.now()));
    if (!woken && review === null) review = { action: 'archive', by: 'deadline' };
    await settleOthers();
  }
  await resolve(winner, review!.action);
  if (winner.replica.unrecoverableBlocks.length > 0 && review!.action === 'enable-io') {
    // a peer still out may hold what the restore lacked: give it the peer wait to return
    await condition(() => allPeersReported(input.expectedNodes, [...candidates.keys()]), input.peerWaitMs);
  }
  while (hasUnsettled()) await settleOthers();
  return { winner: winner.nodeId, decision: `${review!.action} (${review!.by})`, epoch: result.epoch ?? input.epoch };

  async function snapshotDecision({ snapshotId }: DecisionRequest): Promise<DecisionResult> {
    const id = snapshotId!;
    const alreadyApplied = snapshotsTaken.has(id);
    if (!alreadyApplied && !snapshotQueue.includes(id)) snapshotQueue.push(id);
    await condition(() => snapshotsTaken.has(id));
    if (!snapshotsTaken.get(id)) throw ApplicationFailure.nonRetryable(`snapshot ${id} failed; see its error`, 'DecisionFailed');
    return { action: 'snapshot', snapshotId: id, alreadyApplied };
  }

  async function finalDecision({ action }: DecisionRequest): Promise<DecisionResult> {
    const alreadyApplied = review !== null;
    const mine: ReviewOutcome = review ?? { action: action as ReviewOutcome['action'], by: 'customer' };
    review = mine;
    await condition(() => result !== null || failure?.review === mine);
    if (result === null) throw ApplicationFailure.nonRetryable(failure!.message, 'DecisionFailed');
    return { ...result, alreadyApplied };
  }

  async function carryOut(decided: ReviewOutcome): Promise<DecisionResult> {
    if (standby && decided.action !== 'enable-io') {
      await discard(standby);
      standby = null;
    }
    const by = decided.by === 'customer' ? 'customer decision' : decided.by === 'proof' ? 'proof of no data loss' : 'review deadline passed';
    switch (decided.action) {
      case 'enable-io': {
        const epoch = input.epoch + 1;
        const secondary = (await joinStandby(epoch)) ? standby!.nodeId : undefined;
        await control.enableCopy({ nodeId: winner!.nodeId, volumeId, epoch, secondary });
        await control.recordEnabled({ volumeId, nodeId: winner!.nodeId, epoch, auto: decided.by === 'proof', proof, secondary });
        if (standby) await resolve(standby, 'kept as the secondary');
        else await rebuildSecondary(volumeId, winner!.nodeId, epoch);
        return { action: 'enable-io', epoch, nodeId: winner!.nodeId, alreadyApplied: false };
      }
      case 'archive': {
        const snapshotId = `snap-${uuid4().replace(/-/g, '').slice(0, 16)}`;
        await archiveVolume(volumeId, winner!.nodeId, snapshotId, by);
        return { action: 'archive', snapshotId, alreadyApplied: false };
      }
      case 'transfer':
        return transfer();
      case 'delete':
        await deleteVolume(volumeId, by);
        return { action: 'delete', alreadyApplied: false };
    }
  }

  /** The restored copy moves to a node in another zone, which then serves; the old copy goes. */
  async function transfer(): Promise<DecisionResult> {
    const target = (await addCopy(volumeId, winner!.nodeId, input.epoch, true))?.target;
    if (!target) throw ApplicationFailure.nonRetryable(`no node in another zone could take ${volumeId}`, 'DecisionFailed');
    const epoch = input.epoch + 1;
    await control.enableCopy({ nodeId: target, volumeId, epoch });
    await control.recordTransferred({ volumeId, nodeId: target, epoch, by: 'customer' });
    await deleteUnlessRefused({ nodeId: winner!.nodeId, volumeId, reason: `transferred to ${target}` }, true);
    await rebuildSecondary(volumeId, target, epoch);
    return { action: 'transfer', epoch, nodeId: target, alreadyApplied: false };
  }

  function hasUnsettled(): boolean {
    return [...candidates.keys()].some((n) => n !== winner!.nodeId && n !== standby?.nodeId && !settled.has(n));
  }

  /**
   * Every copy but the winner is deleted once the winner is restored. A late copy with more
   * authority (before any decision) takes over instead, and the old winner is the one deleted.
   */
  async function settleOthers(): Promise<void> {
    for (const late of [...candidates.values()].filter((c) => c.nodeId !== winner!.nodeId && c.nodeId !== standby?.nodeId && !settled.has(c.nodeId))) {
      if (review === null && supersedes(late, winner!)) {
        const previous = winner!;
        ({ winner, proof } = await restoreAuthority(volumeId, late, [...candidates.values()]));
        await discard(previous);
        if (standby && !identical(standby, winner)) {
          await discard(standby);
          standby = null;
        }
      } else {
        proof ??= prove(winner!, twinsOf(winner!, [winner!, late]));
        if (review === null && standby === null && identical(late, winner!)) standby = late;
        else {
          await repairFromLate(late);
          await discard(late);
        }
      }
    }
  }

  /** The kept twin joins as secondary at `epoch`; if its node does not answer, it is discarded and a rebuild follows. */
  async function joinStandby(epoch: number): Promise<boolean> {
    if (!standby) return false;
    try {
      await probeLonger.joinAsSecondary({ nodeId: standby.nodeId, volumeId, epoch });
      return true;
    } catch {
      await discard(standby, 'the kept twin did not answer');
      standby = null;
      return false;
    }
  }

  /**
   * A twin that returned after the restore may still hold blocks the restore could not repair:
   * the node takes each one that no write has covered since, before the twin is deleted.
   */
  async function repairFromLate(late: CandidateReport): Promise<void> {
    const lost = winner!.replica.unrecoverableBlocks;
    if (lost.length === 0 || late.replica.epoch !== winner!.replica.epoch || late.replica.writeSeq !== winner!.replica.writeSeq) return;
    const held = lost.filter((b) => !late.replica.badBlocks.includes(b));
    if (held.length === 0) return;
    const { repaired } = await data.repairCopy({ nodeId: winner!.nodeId, volumeId, repairFrom: [{ nodeId: late.nodeId, blocks: held }] });
    winner = { ...winner!, replica: { ...winner!.replica, unrecoverableBlocks: lost.filter((b) => !repaired.includes(b)) } };
    if (repaired.length > 0) await control.recordLateRepair({ volumeId, nodeId: winner.nodeId, from: late.nodeId, blocks: repaired });
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

/** A copy with the same bytes as the restored winner: the same generation and digest, nothing bad on either. */
function identical(copy: CandidateReport, winner: Winner): boolean {
  const { epoch, writeSeq, digest, badBlocks, rebuilding } = copy.replica;
  return !rebuilding && epoch === winner.replica.epoch && writeSeq === winner.replica.writeSeq && digest === winner.replica.digest &&
    badBlocks.length === 0 && winner.replica.badBlocks.length === 0;
}

/**
 * Merge-restores the elected copy read-only. Its bad blocks come from a twin where one verifies;
 * what nothing could repair is recorded, and rules out a proof of no data loss.
 */
async function restoreAuthority(volumeId: string, elected: CandidateReport, all: CandidateReport[]): Promise<{ winner: Winner; proof: string | null }> {
  const repairFrom = [...blocksByPeer(planRepairs(elected, all))].map(([nodeId, blocks]) => ({ nodeId, blocks }));
  const restored = await data.restoreCopy({ nodeId: elected.nodeId, volumeId, repairFrom });
  const winner = { ...elected, replica: restored };
  await control.recordRestored({ volumeId, nodeId: winner.nodeId, writeSeq: restored.writeSeq });
  if (restored.unrecoverableBlocks.length > 0) {
    await control.recordUnrecoverable({ volumeId, nodeId: winner.nodeId, blocks: restored.unrecoverableBlocks });
  }
  return { winner, proof: prove(winner, twinsOf(winner, all)) ?? proveBySnapshot(winner, restored.base) };
}

/**
 * Proof from the digests the nodes computed in their recovery scans (in the same pass as the
 * CRC check; I/O has been held since, so they still hold) against the winner's merged digest.
 */
function prove(winner: Winner, twins: CandidateReport[]): string | null {
  const digest = (c: CandidateReport) => ({ nodeId: c.nodeId, epoch: c.replica.epoch, writeSeq: c.replica.writeSeq, digest: c.replica.digest });
  return proveNoDataLoss(winner, [digest(winner), ...twins.filter((t) => t.nodeId !== winner.nodeId).map(digest)]);
}
