// The review: auto-enable on proof, review snapshots, waiting for a decision until the deadline,
// carrying the decision out once, and settling what is left afterwards.
import type { DecisionResult } from '../messages.js';
import { authority, decisionOf, expectResult as expect, hasUnsettled, next, reviewOf, type Handlers } from './volume-recovery-steps.js';
import type { Decision, Review, Task, VolumeRecoveryState as State } from './volume-recovery-types.js';

/** A deadline archive that failed (e.g. the store is unreachable) is tried again this much later. */
export const DEADLINE_RETRY_MS = 60_000;

function reviewing(s: State): Review {
  if (s.stage.phase !== 'configuration') throw new Error(`volume recovery ${s.setup.volumeId}: not under review`);
  return s.stage.review;
}

function deciding(s: State): Decision {
  const decision = decisionOf(s);
  if (!decision) throw new Error(`volume recovery ${s.setup.volumeId}: no decision to carry out`);
  return decision;
}

function byWhom({ by }: Decision): string {
  return by === 'customer' ? 'customer decision' : by === 'proof' ? 'proof of no data loss' : 'review deadline passed';
}

/** The decision failed for good: the volume keeps waiting; a failed deadline archive is retried later. */
function failDecision(s: State, message: string): void {
  const review = reviewing(s);
  const decision = deciding(s);
  review.failure = { decision: decision.id, message };
  if (decision.by === 'deadline') review.deadline = s.now + DEADLINE_RETRY_MS;
  review.decision = null;
  next(s, { t: 'waitForDecision' });
}

/** An enable-io of a copy the restore could not fully repair: a copy still out may hold the rest. */
function waitsForTwin(s: State): boolean {
  return deciding(s).action === 'enable-io' && authority(s).winner.replica.unrecoverableBlocks.length > 0;
}

export function decide(review: Review, outcome: Omit<Decision, 'id'>): Decision {
  review.decision = { ...outcome, id: review.nextDecisionId++ };
  return review.decision;
}

export const REVIEW_STEPS: Handlers<
  | 'reviewRound'
  | 'takeSnapshots'
  | 'decideOrWait'
  | 'waitForDecision'
  | 'carryOut'
  | 'joinTwin'
  | 'enable'
  | 'afterEnable'
  | 'archive'
  | 'transfer'
  | 'dropOldCopy'
  | 'finishDecision'
  | 'closeReview'
  | 'settleRest'
> = {
  /** With a proof and no decision yet, the volume's autoEnableIo setting decides. */
  reviewRound: {
    perform(s) {
      if (reviewing(s).decision === null && authority(s).proof) return { type: 'readSettings' };
      next(s, { t: 'takeSnapshots' });
    },
    result(s, _task, event) {
      const review = reviewing(s);
      if (expect(event, 'settingsRead').autoEnableIo && review.decision === null) decide(review, { action: 'enable-io', by: 'proof' });
      next(s, { t: 'takeSnapshots' });
    },
  },
  takeSnapshots: {
    perform(s, task) {
      const snapshotId = reviewing(s).snapshotQueue.shift();
      if (snapshotId === undefined) return next(s, { t: 'decideOrWait' });
      task.snapshotId = snapshotId;
      return { type: 'takeSnapshot', snapshotId, nodeId: authority(s).winner.nodeId };
    },
    result(s, { snapshotId }, event) {
      reviewing(s).snapshots[snapshotId!] = expect(event, 'snapshotTaken').ok;
      next(s, { t: 'takeSnapshots' });
    },
  },
  decideOrWait: { perform: (s) => next(s, { t: reviewing(s).decision ? 'carryOut' : 'waitForDecision' }) },
  waitForDecision: {
    perform: (s) => ({ type: 'waitForDecision', deadline: reviewing(s).deadline }),
    result(s, _task, event) {
      const review = reviewing(s);
      if (expect(event, 'decisionWoken', 'deadlinePassed').type === 'deadlinePassed' && review.decision === null) {
        decide(review, { action: 'archive', by: 'deadline' });
      }
      next(s, { t: 'settle' }, { t: 'reviewRound' });
    },
  },
  /**
   * A kept twin stays only for enable-io; every other decision deletes it first. Enabling retires
   * every other member, so a copy still out that may hold what the restore could not repair gets
   * the peer wait before, never after: once retired, its offer would be refused and the copy
   * deleted with the only good version of those blocks (chaos seed 401207 scenario 23).
   */
  carryOut: {
    perform(s) {
      const { action } = deciding(s);
      const { standby } = authority(s);
      const steps: Task[] = standby && action !== 'enable-io' ? [{ t: 'discard', nodeId: standby.nodeId }, { t: 'forgetStandby' }] : [];
      const epoch = s.setup.epoch + 1;
      if (waitsForTwin(s) && !s.setup.twinWaitAfterEnable) steps.push({ t: 'waitForPeers' }, { t: 'settle' });
      if (action === 'enable-io') steps.push({ t: 'joinTwin', epoch });
      else if (action === 'archive' || action === 'transfer') steps.push({ t: action });
      else
        steps.push(
          { t: 'effect', command: { type: 'deleteVolume', by: byWhom(deciding(s)) } },
          { t: 'finishDecision', result: { action: 'delete', alreadyApplied: false } },
        );
      next(s, ...steps);
    },
  },
  /** The kept twin joins as secondary at the new epoch; if its node does not answer, it goes and a rebuild follows. */
  joinTwin: {
    perform(s, { epoch }) {
      const { standby } = authority(s);
      if (standby) return { type: 'joinAsSecondary', nodeId: standby.nodeId, epoch };
      next(s, { t: 'enable', epoch });
    },
    result(s, { epoch }, event) {
      const standby = authority(s).standby!;
      if (expect(event, 'twinJoined', 'twinTimedOut').type === 'twinJoined')
        return next(s, { t: 'enable', epoch, secondary: standby.nodeId });
      next(
        s,
        { t: 'discard', nodeId: standby.nodeId, reason: 'the kept twin did not answer' },
        { t: 'forgetStandby' },
        { t: 'enable', epoch },
      );
    },
  },
  /** The node enables first at epoch+1 (held I/O released), then the inventory records it. */
  enable: {
    perform(s, { epoch, secondary }) {
      const { winner, proof } = authority(s);
      const auto = deciding(s).by === 'proof';
      next(
        s,
        { t: 'effect', command: { type: 'enableCopy', nodeId: winner.nodeId, epoch, secondary } },
        { t: 'effect', command: { type: 'recordEnabled', nodeId: winner.nodeId, epoch, auto, proof, secondary } },
        { t: 'afterEnable', epoch },
      );
    },
  },
  afterEnable: {
    perform(s, { epoch }) {
      const { winner, standby } = authority(s);
      const result: DecisionResult = { action: 'enable-io', epoch, nodeId: winner.nodeId, alreadyApplied: false };
      next(
        s,
        standby
          ? { t: 'resolve', nodeId: standby.nodeId, outcome: 'kept as the secondary' }
          : { t: 'effect', command: { type: 'rebuildSecondary', source: winner.nodeId, epoch } },
        { t: 'finishDecision', result },
      );
    },
  },
  /** Archive: a snapshot of the copy, durable in the store, then every copy deleted. */
  archive: {
    perform: (s) => ({ type: 'archive', nodeId: authority(s).winner.nodeId, by: byWhom(deciding(s)) }),
    result(s, _task, event) {
      const done = expect(event, 'archived', 'stepFailed');
      if (done.type === 'stepFailed') return failDecision(s, done.message);
      next(s, { t: 'finishDecision', result: { action: 'archive', snapshotId: done.snapshotId, alreadyApplied: false } });
    },
  },
  /** The restored copy moves to a node in another zone, which then serves; the old copy goes. */
  transfer: {
    perform: (s) => ({ type: 'addCopy', source: authority(s).winner.nodeId, epoch: s.setup.epoch }),
    result(s, _task, event) {
      const { target } = expect(event, 'copyAdded');
      if (!target) return failDecision(s, `no node in another zone could take ${s.setup.volumeId}`);
      const epoch = s.setup.epoch + 1;
      next(
        s,
        { t: 'effect', command: { type: 'enableCopy', nodeId: target, epoch } },
        { t: 'effect', command: { type: 'recordTransferred', nodeId: target, epoch, by: 'customer' } },
        { t: 'dropOldCopy', nodeId: authority(s).winner.nodeId, reason: `transferred to ${target}` },
        { t: 'effect', command: { type: 'rebuildSecondary', source: target, epoch } },
        { t: 'finishDecision', result: { action: 'transfer', epoch, nodeId: target, alreadyApplied: false } },
      );
    },
  },
  dropOldCopy: {
    perform: (_s, { nodeId, reason }) => ({ type: 'deleteCopy', nodeId, reason }),
    result: (_s, _task, event) => void expect(event, 'copyDeleted'),
  },
  finishDecision: {
    perform(s, { result }) {
      reviewing(s).result = result;
      next(s, { t: 'closeReview' });
    },
  },
  closeReview: {
    perform(s) {
      const late = waitsForTwin(s) && s.setup.twinWaitAfterEnable ? [{ t: 'waitForPeers' } as const] : [];
      next(s, { t: 'resolve', nodeId: authority(s).winner.nodeId, outcome: deciding(s).action }, ...late, { t: 'settleRest' });
    },
  },
  settleRest: {
    perform(s) {
      if (hasUnsettled(s)) return next(s, { t: 'settle' }, { t: 'settleRest' });
      const review = reviewing(s);
      const { action, by } = deciding(s);
      const outcome = { winner: authority(s).winner.nodeId, decision: `${action} (${by})`, epoch: review.result?.epoch ?? s.setup.epoch };
      s.stage = { phase: 'done', reported: 'configuration', authority: authority(s), review, outcome };
    },
  },
};

export { reviewOf };
