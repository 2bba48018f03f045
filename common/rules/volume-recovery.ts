// volumeRecovery as a pure state machine: `step(state, event) → { state, commands }`.
//
// Signals and Updates (ExternalEvent) only change what the machine knows; what they ask for is
// picked up at the machine's next step, as the workflow did between its awaits. Every other
// event answers the one command in flight, and the machine answers with at most one command.
// Steps live in volume-recovery-steps.ts (up to the review) and volume-recovery-review.ts.
import { DECISION_ACTIONS, type DecisionRequest, type DecisionResult, type RecoveryPhase, type VolumeRecoveryStatus } from '../messages.js';
import { decide, REVIEW_STEPS } from './volume-recovery-review.js';
import { decisionOf, hasUnsettled, next, outcomeOf, RECOVERY_STEPS, reviewOf, type Handler } from './volume-recovery-steps.js';
import type {
  Command,
  ExternalEvent,
  RecoveryEvent,
  RecoveryOutcome,
  RecoverySetup,
  ResultEvent,
  Task,
  VolumeRecoveryState as State,
} from './volume-recovery-types.js';
import { RESULTS } from './volume-recovery-types.js';

export type * from './volume-recovery-types.js';
export { peersReported } from './volume-recovery-steps.js';

export interface Transition {
  state: State;
  commands: Command[];
}

const STEPS = { ...RECOVERY_STEPS, ...REVIEW_STEPS };

function handler(task: Task): Handler<Task> {
  return STEPS[task.t] as Handler<Task>;
}

export function start(setup: RecoverySetup, at: number): Transition {
  const s: State = {
    setup,
    now: at,
    stage: { phase: 'investigation' },
    copies: { candidates: [], offers: [], settled: [] },
    agenda: [{ t: 'waitForPeers' }, { t: 'enter', phase: 'recovery' }, { t: 'checkIncident' }],
    inFlight: null,
  };
  s.inFlight = {
    task: { t: 'effect', command: { type: 'setPhase', phase: 'investigation' } },
    command: { type: 'setPhase', phase: 'investigation' },
  };
  return { state: s, commands: [s.inFlight.command] };
}

export function step(state: State, event: RecoveryEvent): Transition {
  const s = JSON.parse(JSON.stringify(state)) as State;
  if (isExternal(event)) return { state: s, commands: absorb(s, event) };
  if (!s.inFlight) throw new Error(`volume recovery ${s.setup.volumeId}: ${event.type} answers no command`);
  const { task, command } = s.inFlight;
  if (!RESULTS[command.type].includes(event.type)) throw new Error(`volume recovery: ${event.type} does not answer ${command.type}`);
  s.inFlight = null;
  s.now = event.at;
  handler(task).result?.(s, task, event);
  const commands: Command[] = [];
  while (!s.inFlight && s.stage.phase !== 'done') {
    const nextTask = s.agenda.shift();
    if (!nextTask) throw new Error(`volume recovery ${s.setup.volumeId}: nothing left to do before the end`);
    const issued = handler(nextTask).perform(s, nextTask);
    if (issued) {
      s.inFlight = { task: nextTask, command: issued };
      commands.push(issued);
    }
  }
  return { state: s, commands };
}

function isExternal(event: RecoveryEvent): event is ExternalEvent & { at: number } {
  return event.type === 'copyOffered' || event.type === 'decisionRequested' || event.type === 'snapshotRequested';
}

/** An offer of a copy settled before is told its outcome at once (a command run alongside). */
function absorb(s: State, event: ExternalEvent): Command[] {
  switch (event.type) {
    case 'copyOffered': {
      const { report } = event;
      const at = s.copies.candidates.findIndex((c) => c.nodeId === report.nodeId);
      if (at >= 0) s.copies.candidates[at] = report;
      else s.copies.candidates.push(report);
      const offers =
        s.copies.offers.find((o) => o.nodeId === report.nodeId) ??
        s.copies.offers[s.copies.offers.push({ nodeId: report.nodeId, serverRecoveryIds: [] }) - 1]!;
      if (!offers.serverRecoveryIds.includes(report.serverRecoveryId)) offers.serverRecoveryIds.push(report.serverRecoveryId);
      const outcome = outcomeOf(s, report.nodeId);
      return outcome === undefined ? [] : [{ type: 'notify', serverRecoveryId: report.serverRecoveryId, outcome }];
    }
    case 'decisionRequested': {
      const review = reviewOf(s);
      if (review && review.decision === null) decide(review, { action: event.action, by: 'customer' });
      return [];
    }
    case 'snapshotRequested': {
      const review = reviewOf(s);
      if (review && !(event.snapshotId in review.snapshots) && !review.snapshotQueue.includes(event.snapshotId))
        review.snapshotQueue.push(event.snapshotId);
      return [];
    }
  }
}

/** The phase shown in the search attribute and the `phase` query. */
export function reportedPhase(s: State): RecoveryPhase {
  return s.stage.phase === 'done' ? s.stage.reported : s.stage.phase;
}

export function outcome(s: State): RecoveryOutcome | null {
  return s.stage.phase === 'done' ? s.stage.outcome : null;
}

/** What ends a wait for a decision: a decision, a copy to settle, or a snapshot to take. */
export function decisionWakes(s: State): boolean {
  const review = reviewOf(s);
  return review !== null && (review.decision !== null || review.snapshotQueue.length > 0 || hasUnsettled(s));
}

/** The Update validator: a rejected request changes nothing. Null when the request may go on. */
export function rejectDecision(s: State, request: DecisionRequest): string | null {
  const { volumeId } = s.setup;
  if (!DECISION_ACTIONS.includes(request?.action)) return `action must be one of ${DECISION_ACTIONS.join(', ')}`;
  const phase = reportedPhase(s);
  if (phase !== 'configuration') return `volume ${volumeId} is still being recovered (${phase}); try again shortly`;
  if (request.action === 'snapshot' && !/^[\w-]{1,80}$/.test(request.snapshotId ?? '')) return 'a snapshot decision needs a snapshot id';
  const decision = decisionOf(s);
  if (decision && request.action === 'snapshot') return `volume ${volumeId} is already being decided (${decision.action})`;
  if (decision && decision.action !== request.action)
    return `volume ${volumeId} is already being decided: ${decision.action} (${decision.by})`;
  return null;
}

/** The answer for the decision numbered `id`, once there is one. */
export function decisionAnswer(s: State, id: number): { result: DecisionResult } | { error: string } | null {
  const review = reviewOf(s);
  if (review?.result) return { result: review.result };
  if (review?.failure?.decision === id) return { error: review.failure.message };
  return null;
}

/** Whether the review snapshot `id` was taken (true), failed (false), or is still to come (undefined). */
export function snapshotAnswer(s: State, id: string): boolean | undefined {
  return reviewOf(s)?.snapshots[id];
}

export function volumeStatus(s: State): VolumeRecoveryStatus {
  const authority = s.stage.phase === 'investigation' ? null : s.stage.authority;
  const review = reviewOf(s);
  const decision = review?.decision ?? null;
  return {
    phase: reportedPhase(s),
    volumeId: s.setup.volumeId,
    candidates: s.copies.candidates.map((c) => c.nodeId),
    winner: authority?.winner.nodeId ?? null,
    proof: authority?.proof ?? null,
    awaitingDecision: reportedPhase(s) === 'configuration' && decision === null,
    decision: decision && { action: decision.action, by: decision.by },
    reviewDeadline: review ? new Date(review.announcedDeadline).toISOString() : null,
    unrecoverableBlocks: authority?.winner.replica.unrecoverableBlocks ?? [],
  };
}

export { decisionOf, next };
