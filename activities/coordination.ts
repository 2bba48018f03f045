// Activities that start or signal other workflows through the Temporal client.
import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  candidateSignal,
  CONTROL_TASK_QUEUE,
  copyResolvedSignal,
  offersResolvedSignal,
  snapshotPolicyScheduleId,
  volumeRecoveryId,
} from '../common/messages.js';
import type { CandidateReport } from '../common/types.js';
import type { Db } from '../api/repositories/db.js';
import { markCandidate } from '../api/repositories/volumes.js';
import { recordOffered, resolveOffer } from '../api/repositories/incident-offers.js';
import { classifiedCopies } from '../api/repositories/recovery-reports.js';
import { volumeRecovery, type VolumeRecoveryInput } from '../workflows/volume-recovery.js';
import type { ClassifiedCopy } from './inventory.js';

/** Offers in flight from one offerCandidates activity: a dense node's thousands do not arrive at the Temporal server at once. */
const OFFERS_AT_ONCE = 50;

export function createCoordinationActivities(
  client: Client,
  db: Db,
  timings: Pick<VolumeRecoveryInput, 'peerWaitMs' | 'reviewDeadlineMs'>,
) {
  /**
   * Offers a candidate copy to its volume's recovery, starting that workflow if this is the
   * first copy. A recovery of the same incident that already finished is started anew: it
   * re-checks that its incident is current, so a copy made stale meanwhile is only discarded,
   * while a copy whose earlier recovery was superseded (its peer served again, the epoch did
   * not move) and that lost that peer since gets the recovery it needs. A copy that left the
   * membership since it was classified is not offered: it is settled, and nothing may elect it.
   */
  async function offer(nodeId: string, serverRecoveryId: string, c: ClassifiedCopy): Promise<void> {
    if (!(await markCandidate(db, c.volumeId, nodeId, c.copy.writeSeq))) return;
    await recordOffered(db, serverRecoveryId, c.volumeId); // before the recovery can resolve it
    const args: VolumeRecoveryInput = { volumeId: c.volumeId, epoch: c.volumeEpoch, expectedNodes: c.expectedNodes, ...timings };
    const report: CandidateReport = { nodeId, serverRecoveryId, replica: c.copy };
    await client.workflow.signalWithStart(volumeRecovery, {
      workflowId: volumeRecoveryId(c.volumeId, c.volumeEpoch),
      taskQueue: CONTROL_TASK_QUEUE,
      args: [args],
      signal: candidateSignal,
      signalArgs: [report],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `Volume recovery of ${c.volumeId} at epoch ${c.volumeEpoch}: no healthy copy in service; first candidate on ${nodeId}`,
      staticDetails: `Copies expected from: ${c.expectedNodes.join(', ') || 'none'}. Waits up to ${Math.round(timings.peerWaitMs / 1000)} s for them, elects by (epoch, writeSeq), restores read-only with I/O held.`,
    });
  }

  /**
   * Offers OFFERS_AT_ONCE at a time and heartbeats how many are done, so a retry (a worker crash,
   * a heartbeat timeout on a server that lags) goes on from there; an offer made twice is harmless.
   */
  async function offerInBatches(nodeId: string, serverRecoveryId: string, copies: ClassifiedCopy[]): Promise<void> {
    const context = Context.current();
    const from = Number(context.info.heartbeatDetails ?? 0);
    for (let i = from; i < copies.length; i += OFFERS_AT_ONCE) {
      await Promise.all(copies.slice(i, i + OFFERS_AT_ONCE).map((c) => offer(nodeId, serverRecoveryId, c)));
      context.heartbeat(Math.min(i + OFFERS_AT_ONCE, copies.length));
    }
  }

  return {
    /** A deleted or archived volume takes no more policy snapshots. */
    async dropSnapshotPolicy({ volumeId }: { volumeId: string }): Promise<void> {
      await client.schedule
        .getHandle(snapshotPolicyScheduleId(volumeId))
        .delete()
        .catch((err: unknown) => {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        });
    },

    /**
     * Resolves a server recovery's offer of one of its candidates, and tells the server recovery
     * (its current run) when that was the last: one signal an incident, not one a copy. An offer
     * made before offers were recorded is told on its own, as it was then. Run as a local
     * activity, it costs the volume recovery no workflow task of its own; a server recovery that
     * already ended waits for nothing.
     */
    async notifyCopyResolved(input: { serverRecoveryId: string; volumeId: string; outcome: string }): Promise<void> {
      const { serverRecoveryId, volumeId, outcome } = input;
      const resolution = await resolveOffer(db, serverRecoveryId, volumeId);
      if (resolution === 'more') return;
      const handle = client.workflow.getHandle(serverRecoveryId);
      const told = resolution === 'last' ? handle.signal(offersResolvedSignal) : handle.signal(copyResolvedSignal, { volumeId, outcome });
      await told.catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      });
    },

    /** A page of a node's candidates (the whole scan in the workflow's history: recorded before stored reports). */
    async offerCandidates(input: { nodeId: string; serverRecoveryId: string; copies: ClassifiedCopy[] }): Promise<void> {
      await offerInBatches(input.nodeId, input.serverRecoveryId, input.copies);
    },

    /** offerCandidates for a stored report: the copies and their classification come from the inventory. */
    async offerStoredCandidates(input: { nodeId: string; serverRecoveryId: string; reportId: string; volumeIds: string[] }): Promise<void> {
      await offerInBatches(input.nodeId, input.serverRecoveryId, await classifiedCopies(db, input.reportId, input.volumeIds));
    },
  };
}
