// The steps of a volume recovery up to the review: wait for peers, confirm the incident, restore
// the elected copy, settle every other copy. Each step is pure: it changes the state it is given
// (a private copy made by `step`) and returns the command it waits on, if any.
import { allPeersReported, electAuthoritative, supersedes } from './elect.js';
import { blocksByPeer, planRepairs } from './merge.js';
import { proveBySnapshot, proveNoDataLoss, twinsOf } from './proof.js';
import type { CandidateReport } from '../types.js';
import type {
  Authority,
  Command,
  Decision,
  ResultEvent,
  Review,
  Task,
  VolumeRecoveryState as State,
  Winner,
} from './volume-recovery-types.js';

export type Handler<T extends Task> = {
  perform(s: State, task: T): Command | void;
  result?(s: State, task: T, event: ResultEvent): void;
};
export type Handlers<K extends Task['t']> = { [P in K]: Handler<Extract<Task, { t: P }>> };

/** Puts tasks at the front of the agenda, in the order given. */
export function next(s: State, ...tasks: Task[]): void {
  s.agenda.unshift(...tasks);
}

export function authority(s: State): Authority {
  const stage = s.stage;
  if (stage.phase !== 'investigation' && stage.authority) return stage.authority;
  throw new Error(`volume recovery ${s.setup.volumeId}: no restored winner yet`);
}

export function reviewOf(s: State): Review | null {
  return s.stage.phase === 'configuration' || s.stage.phase === 'done' ? s.stage.review : null;
}

export function decisionOf(s: State): Decision | null {
  return reviewOf(s)?.decision ?? null;
}

export function outcomeOf(s: State, nodeId: string): string | undefined {
  return s.copies.settled.find((c) => c.nodeId === nodeId)?.outcome;
}

export function peersReported(s: State): boolean {
  return allPeersReported(
    s.setup.expectedNodes,
    s.copies.candidates.map((c) => c.nodeId),
  );
}

function unsettled(s: State): CandidateReport[] {
  const { winner, standby } = authority(s);
  return s.copies.candidates.filter(
    (c) => c.nodeId !== winner.nodeId && c.nodeId !== standby?.nodeId && outcomeOf(s, c.nodeId) === undefined,
  );
}

export function hasUnsettled(s: State): boolean {
  return unsettled(s).length > 0;
}

/** A copy with the same bytes as the restored winner: the same generation and digest, nothing bad on either. */
export function identical(copy: CandidateReport, winner: Winner): boolean {
  const { epoch, writeSeq, digest, badBlocks, rebuilding } = copy.replica;
  return (
    !rebuilding &&
    epoch === winner.replica.epoch &&
    writeSeq === winner.replica.writeSeq &&
    digest === winner.replica.digest &&
    badBlocks.length === 0 &&
    winner.replica.badBlocks.length === 0
  );
}

/**
 * Proof from the digests the nodes computed in their recovery scans (in the same pass as the
 * CRC check; I/O has been held since, so they still hold) against the winner's merged digest.
 */
export function prove(winner: Winner, twins: CandidateReport[]): string | null {
  const digest = (c: CandidateReport) => ({
    nodeId: c.nodeId,
    epoch: c.replica.epoch,
    writeSeq: c.replica.writeSeq,
    digest: c.replica.digest,
  });
  return proveNoDataLoss(winner, [digest(winner), ...twins.filter((t) => t.nodeId !== winner.nodeId).map(digest)]);
}

function expect<T extends ResultEvent['type']>(event: ResultEvent, ...types: T[]): Extract<ResultEvent, { type: T }> {
  if (!(types as string[]).includes(event.type)) throw new Error(`volume recovery: expected ${types.join(' or ')}, got ${event.type}`);
  return event as Extract<ResultEvent, { type: T }>;
}

export { expect as expectResult };

export const RECOVERY_STEPS: Handlers<
  | 'enter'
  | 'effect'
  | 'waitForPeers'
  | 'checkIncident'
  | 'discardEach'
  | 'discard'
  | 'resolve'
  | 'notifyOffers'
  | 'restore'
  | 'settle'
  | 'settleOne'
  | 'dropStandbyUnlessIdentical'
  | 'forgetStandby'
  | 'repairFromLate'
> = {
  enter: {
    perform(s, { phase }) {
      if (phase === 'recovery') s.stage = { phase, authority: null };
      else s.stage = { phase, authority: authority(s), review: openReview(s.now + s.setup.reviewDeadlineMs) };
      return { type: 'setPhase', phase };
    },
  },
  effect: { perform: (_s, { command }) => command },
  waitForPeers: { perform: (s) => ({ type: 'waitForPeers', timeoutMs: s.setup.peerWaitMs }) },
  checkIncident: {
    perform: (s) => ({ type: 'checkIncident', epoch: s.setup.epoch }),
    result(s, _task, event) {
      if (!expect(event, 'incidentChecked').current) return next(s, { t: 'discardEach', index: 0 });
      const elected = electAuthoritative(s.copies.candidates)?.winner;
      if (!elected) throw new Error(`volume recovery ${s.setup.volumeId}: no candidate to elect`);
      next(s, { t: 'restore', elected }, { t: 'settle' }, { t: 'enter', phase: 'configuration' }, { t: 'reviewRound' });
    },
  },
  /** The incident was superseded (a failover won the race): every candidate is stale. */
  discardEach: {
    perform(s, { index }) {
      const copy = s.copies.candidates[index];
      if (copy)
        return next(
          s,
          { t: 'discard', nodeId: copy.nodeId, reason: 'superseded: the volume serves from another copy' },
          { t: 'discardEach', index: index + 1 },
        );
      s.stage = {
        phase: 'done',
        reported: 'recovery',
        authority: null,
        review: null,
        outcome: { winner: 'none', decision: 'superseded', epoch: s.setup.epoch },
      };
    },
  },
  discard: {
    perform(s, { nodeId, reason }) {
      const winner = s.stage.phase === 'investigation' ? undefined : s.stage.authority?.winner.nodeId;
      return { type: 'deleteCopy', nodeId, reason: reason ?? `copy on ${winner} was elected` };
    },
    result(s, { nodeId }, event) {
      const outcome = expect(event, 'copyDeleted').deleted ? 'deleted' : 'kept: not deleted (refused or unreachable)';
      next(s, { t: 'resolve', nodeId, outcome });
    },
  },
  resolve: {
    perform(s, { nodeId, outcome }) {
      const known = s.copies.settled.find((c) => c.nodeId === nodeId);
      if (known) known.outcome = outcome;
      else s.copies.settled.push({ nodeId, outcome });
      next(s, { t: 'notifyOffers', nodeId, outcome, index: 0 });
    },
  },
  /** Tells every server recovery that offered the copy; one that offers later is told on offer. */
  notifyOffers: {
    perform(s, { nodeId, outcome, index }) {
      const id = s.copies.offers.find((o) => o.nodeId === nodeId)?.serverRecoveryIds[index];
      if (id === undefined) return;
      next(s, { t: 'notifyOffers', nodeId, outcome, index: index + 1 });
      return { type: 'notify', serverRecoveryId: id, outcome };
    },
  },
  /**
   * Merge-restores the elected copy read-only. Its bad blocks come from a twin where one verifies;
   * what nothing could repair is recorded, and rules out a proof of no data loss.
   */
  restore: {
    perform(s, task) {
      task.all = [...s.copies.candidates];
      const repairFrom = [...blocksByPeer(planRepairs(task.elected, task.all))].map(([nodeId, blocks]) => ({ nodeId, blocks }));
      return { type: 'restoreCopy', nodeId: task.elected.nodeId, repairFrom };
    },
    result(s, { elected, all }, event) {
      const { replica } = expect(event, 'restored');
      const winner: Winner = { ...elected, replica };
      const proof = prove(winner, twinsOf(winner, all ?? [])) ?? proveBySnapshot(winner, replica.base);
      if (s.stage.phase !== 'recovery' && s.stage.phase !== 'configuration') throw new Error('volume recovery: restore outside recovery');
      s.stage.authority = { winner, proof, standby: s.stage.authority?.standby ?? null };
      const effects: Task[] = [{ t: 'effect', command: { type: 'recordRestored', nodeId: winner.nodeId, writeSeq: replica.writeSeq } }];
      if (replica.unrecoverableBlocks.length > 0) {
        effects.push({ t: 'effect', command: { type: 'recordUnrecoverable', nodeId: winner.nodeId, blocks: replica.unrecoverableBlocks } });
      }
      next(s, ...effects);
    },
  },
  /** Every copy but the winner (and a kept twin) is settled, in offer order. */
  settle: { perform: (s) => next(s, ...unsettled(s).map((copy): Task => ({ t: 'settleOne', copy }))) },
  /**
   * A late copy with more authority (before any decision) takes over, and the old winner is the
   * one deleted. Otherwise the copy may prove the winner, be kept as its twin, or repair it and go.
   */
  settleOne: {
    perform(s, { copy }) {
      const a = authority(s);
      const undecided = decisionOf(s) === null;
      if (undecided && supersedes(copy, a.winner)) {
        return next(s, { t: 'restore', elected: copy }, { t: 'discard', nodeId: a.winner.nodeId }, { t: 'dropStandbyUnlessIdentical' });
      }
      a.proof ??= prove(a.winner, twinsOf(a.winner, [a.winner, copy]));
      if (undecided && a.standby === null && identical(copy, a.winner)) a.standby = copy;
      else next(s, { t: 'repairFromLate', copy }, { t: 'discard', nodeId: copy.nodeId });
    },
  },
  dropStandbyUnlessIdentical: {
    perform(s) {
      const { standby, winner } = authority(s);
      if (standby && !identical(standby, winner)) next(s, { t: 'discard', nodeId: standby.nodeId }, { t: 'forgetStandby' });
    },
  },
  forgetStandby: { perform: (s) => void (authority(s).standby = null) },
  /**
   * A twin that returned after the restore may still hold blocks the restore could not repair:
   * the node takes each one that no write has covered since, before the twin is deleted.
   */
  repairFromLate: {
    perform(s, task) {
      const { winner } = authority(s);
      const late = task.copy.replica;
      task.lost = winner.replica.unrecoverableBlocks;
      if (task.lost.length === 0 || late.epoch !== winner.replica.epoch || late.writeSeq !== winner.replica.writeSeq) return;
      const held = task.lost.filter((b) => !late.badBlocks.includes(b));
      if (held.length > 0) return { type: 'repairCopy', nodeId: winner.nodeId, from: task.copy.nodeId, blocks: held };
    },
    result(s, { copy, lost }, event) {
      const { repaired } = expect(event, 'lateRepaired');
      const { winner } = authority(s);
      winner.replica.unrecoverableBlocks = (lost ?? []).filter((b) => !repaired.includes(b));
      if (repaired.length > 0)
        next(s, { t: 'effect', command: { type: 'recordLateRepair', nodeId: winner.nodeId, from: copy.nodeId, blocks: repaired } });
    },
  },
};

function openReview(deadline: number): Review {
  return {
    deadline,
    announcedDeadline: deadline,
    decision: null,
    nextDecisionId: 1,
    result: null,
    failure: null,
    snapshotQueue: [],
    snapshots: {},
  };
}
