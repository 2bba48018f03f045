// Runs the volume recovery machine's commands: each becomes an activity, a timer, a signal or a
// search attribute, and its outcome the event the machine waits for.
import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { copyResolvedSignal, RecoveryPhaseKey, VolumeIdKey } from '../common/messages.js';
import { decisionWakes, peersReported, type Command, type ResultEvent, type VolumeRecoveryState } from '../common/rules/volume-recovery.js';
import { CONTROL, DATA, LOCAL_CONTROL, PROBE_LONGER } from './activity-profiles.js';
import { addCopy, archiveVolume, deleteVolume, takeSnapshot } from './copies.js';
import { deleteUnlessRefused, rebuildSecondary } from './failover.js';

const data = proxyActivities<Activities>(DATA);
const control = proxyActivities<Activities>(CONTROL);
const probeLonger = proxyActivities<Activities>(PROBE_LONGER);
const localInventory = proxyLocalActivities<Activities>(LOCAL_CONTROL);

/** The patch that moved the machine's inventory calls to local activities; histories recorded before it replay with task activities. */
export const LOCAL_CALLS_PATCH = 'volume-recovery-local-inventory-calls';

type Runners = { [K in Command['type']]: (command: Extract<Command, { type: K }>) => Promise<ResultEvent> };
const DONE: ResultEvent = { type: 'stepDone' };

/**
 * `localCalls`: the inventory's reads and writes (and the word to a server recovery) run as local
 * activities. Calls to storage nodes stay task activities: a node may refuse for a while (it is
 * still recovering), and a local activity's retries hold a workflow-task slot of the worker that
 * server recoveries need too. Restores and repairs stay on the bounded data queue.
 */
export function commandRunner(
  volumeId: string,
  state: () => VolumeRecoveryState,
  localCalls: boolean,
): (command: Command) => Promise<ResultEvent> {
  const inventory = localCalls ? localInventory : control;
  const runners: Runners = {
    setPhase: async ({ phase }) => {
      upsertSearchAttributes([
        { key: RecoveryPhaseKey, value: phase },
        { key: VolumeIdKey, value: volumeId },
      ]);
      return DONE;
    },
    waitForPeers: async ({ timeoutMs }) => ({
      type: (await condition(() => peersReported(state()), timeoutMs)) ? 'peersReported' : 'peerWaitElapsed',
    }),
    waitForDecision: async ({ deadline }) => ({
      type: (await condition(() => decisionWakes(state()), Math.max(0, deadline - Date.now()))) ? 'decisionWoken' : 'deadlinePassed',
    }),
    checkIncident: async ({ epoch }) => ({ type: 'incidentChecked', current: await inventory.incidentIsCurrent({ volumeId, epoch }) }),
    restoreCopy: async ({ nodeId, repairFrom }) => ({
      type: 'restored',
      replica: await data.restoreCopy({ nodeId, volumeId, repairFrom }),
    }),
    recordRestored: async ({ nodeId, writeSeq }) => done(inventory.recordRestored({ volumeId, nodeId, writeSeq })),
    recordUnrecoverable: async ({ nodeId, blocks }) => done(inventory.recordUnrecoverable({ volumeId, nodeId, blocks })),
    deleteCopy: async ({ nodeId, reason }) => ({
      type: 'copyDeleted',
      deleted: await deleteUnlessRefused({ nodeId, volumeId, reason }, { giveUp: true }),
    }),
    notify: async ({ serverRecoveryId, outcome }) =>
      localCalls
        ? done(inventory.notifyCopyResolved({ serverRecoveryId, volumeId, outcome }))
        : done(
            getExternalWorkflowHandle(serverRecoveryId)
              .signal(copyResolvedSignal, { volumeId, outcome })
              .catch(() => undefined),
          ), // that server recovery already ended: nothing waits for this copy
    readSettings: async () => ({ type: 'settingsRead', autoEnableIo: (await inventory.volumeSettings({ volumeId })).autoEnableIo }),
    takeSnapshot: async ({ snapshotId, nodeId }) => ({
      type: 'snapshotTaken',
      ok: (await takeSnapshot(volumeId, snapshotId, 'review', nodeId)) !== null,
    }),
    joinAsSecondary: async ({ nodeId, epoch }) =>
      probeLonger.joinAsSecondary({ nodeId, volumeId, epoch }).then(
        (): ResultEvent => ({ type: 'twinJoined' }),
        (): ResultEvent => ({ type: 'twinTimedOut' }),
      ),
    enableCopy: async ({ nodeId, epoch, secondary }) => done(control.enableCopy({ nodeId, volumeId, epoch, secondary })),
    recordEnabled: async (c) =>
      done(inventory.recordEnabled({ volumeId, nodeId: c.nodeId, epoch: c.epoch, auto: c.auto, proof: c.proof, secondary: c.secondary })),
    rebuildSecondary: async ({ source, epoch }) => done(rebuildSecondary(volumeId, source, epoch)),
    archive: async ({ nodeId, by }) => archive(volumeId, nodeId, by),
    deleteVolume: async ({ by }) => done(deleteVolume(volumeId, by)),
    addCopy: async ({ source, epoch }) => ({
      type: 'copyAdded',
      target: (await addCopy(volumeId, source, epoch, { otherZone: true }))?.target ?? null,
    }),
    recordTransferred: async ({ nodeId, epoch, by }) => done(inventory.recordTransferred({ volumeId, nodeId, epoch, by })),
    repairCopy: async ({ nodeId, from, blocks }) => ({
      type: 'lateRepaired',
      repaired: (await data.repairCopy({ nodeId, volumeId, repairFrom: [{ nodeId: from, blocks }] })).repaired,
    }),
    recordLateRepair: async ({ nodeId, from, blocks }) => done(inventory.recordLateRepair({ volumeId, nodeId, from, blocks })),
  };
  return (command) => (runners[command.type] as (c: Command) => Promise<ResultEvent>)(command);
}

async function done(work: Promise<unknown>): Promise<ResultEvent> {
  await work;
  return DONE;
}

/** A failed archive snapshot fails the decision, not the workflow: the volume keeps its copy and waits. */
async function archive(volumeId: string, nodeId: string, by: string): Promise<ResultEvent> {
  const snapshotId = `snap-${uuid4().replace(/-/g, '').slice(0, 16)}`;
  try {
    await archiveVolume(volumeId, nodeId, snapshotId, by);
    return { type: 'archived', snapshotId };
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'DecisionFailed') return { type: 'stepFailed', message: err.message };
    throw err;
  }
}
