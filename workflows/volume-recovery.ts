// volumeRecovery: one volume incident. The rules are the pure machine in
// common/rules/volume-recovery.ts; this workflow feeds it signals, Updates, timers and activity
// results as events, and runs the commands it answers with (volume-recovery-commands.ts).
import { ApplicationFailure, condition, log, patched, setCurrentDetails, setHandler } from '@temporalio/workflow';
import {
  candidateSignal,
  decideUpdate,
  phaseQuery,
  volumeStatusQuery,
  type DecisionRequest,
  type DecisionResult,
} from '../common/messages.js';
import {
  decisionAnswer,
  decisionOf,
  outcome,
  rejectDecision,
  reportedPhase,
  snapshotAnswer,
  start,
  step,
  volumeStatus,
  type Command,
  type ExternalEvent,
  type RecoveryOutcome,
  type ResultEvent,
  type VolumeRecoveryState,
} from '../common/rules/volume-recovery.js';
import { currentDetails } from '../common/rules/volume-recovery-details.js';
import { commandRunner, LOCAL_CALLS_PATCH } from './volume-recovery-commands.js';

export interface VolumeRecoveryInput {
  volumeId: string;
  epoch: number;
  expectedNodes: string[];
  peerWaitMs: number;
  /** How long a restored copy waits for a customer decision before it is archived. */
  reviewDeadlineMs: number;
}

/** enable-io waits for a twin still out before enabling retires it, not after (chaos seed 401207 scenario 23). */
export const TWIN_WAIT_PATCH = 'volume-recovery-twin-wait-before-enable';

export async function volumeRecovery(input: VolumeRecoveryInput): Promise<RecoveryOutcome> {
  const first = start(patched(TWIN_WAIT_PATCH) ? input : { ...input, twinWaitAfterEnable: true }, Date.now());
  let state: VolumeRecoveryState = first.state;
  setCurrentDetails(currentDetails(state));
  const dispatch = (event: ExternalEvent | ResultEvent): Command[] => {
    const next = step(state, { ...event, at: Date.now() });
    const phase = reportedPhase(next.state);
    if (phase !== reportedPhase(state)) log.info(`volume recovery: ${phase}`, { volumeId: input.volumeId, phase });
    state = next.state;
    setCurrentDetails(currentDetails(state)); // what it waits for, in the Web UI; not a command
    return next.commands;
  };
  const run = commandRunner(input.volumeId, () => state, patched(LOCAL_CALLS_PATCH));

  setHandler(candidateSignal, (report) => {
    for (const command of dispatch({ type: 'copyOffered', report })) void run(command); // tells a new offer of a settled copy
  });
  setHandler(phaseQuery, () => reportedPhase(state));
  setHandler(volumeStatusQuery, () => volumeStatus(state));
  setHandler(decideUpdate, (request) => (request.action === 'snapshot' ? snapshotDecision(request) : finalDecision(request)), {
    validator: (request: DecisionRequest) => {
      const rejection = rejectDecision(state, request);
      if (rejection) throw new Error(rejection);
    },
  });

  for (let command = first.commands[0]; command;) command = dispatch(await run(command))[0];
  return outcome(state)!;

  async function snapshotDecision({ snapshotId }: DecisionRequest): Promise<DecisionResult> {
    const id = snapshotId!;
    const alreadyApplied = snapshotAnswer(state, id) !== undefined;
    dispatch({ type: 'snapshotRequested', snapshotId: id });
    await condition(() => snapshotAnswer(state, id) !== undefined);
    if (!snapshotAnswer(state, id)) throw ApplicationFailure.nonRetryable(`snapshot ${id} failed; see its error`, 'DecisionFailed');
    return { action: 'snapshot', snapshotId: id, alreadyApplied };
  }

  async function finalDecision({ action }: DecisionRequest): Promise<DecisionResult> {
    const alreadyApplied = decisionOf(state) !== null;
    dispatch({ type: 'decisionRequested', action: action as Exclude<typeof action, 'snapshot'> });
    const mine = decisionOf(state)!.id;
    await condition(() => decisionAnswer(state, mine) !== null);
    const answer = decisionAnswer(state, mine)!;
    if ('error' in answer) throw ApplicationFailure.nonRetryable(answer.error, 'DecisionFailed');
    return { ...answer.result, alreadyApplied };
  }
}
