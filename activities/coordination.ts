// Activities that start or signal other workflows through the Temporal client.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { candidateSignal, CONTROL_TASK_QUEUE, volumeRecoveryId } from '../common/messages.js';
import type { CandidateReport } from '../common/types.js';

export interface VolumeRecoveryInput {
  volumeId: string;
  epoch: number;
  expectedNodes: string[];
  peerWaitMs: number;
}

export function createCoordinationActivities(client: Client, peerWaitMs: number) {
  return {
    /**
     * Offers a candidate copy to its volume's recovery, starting that workflow if this is the
     * first copy. Returns false when that recovery already finished: the copy is then stale.
     */
    async offerCandidate(input: { volumeId: string; epoch: number; expectedNodes: string[]; report: CandidateReport }): Promise<boolean> {
      const args: VolumeRecoveryInput = { volumeId: input.volumeId, epoch: input.epoch, expectedNodes: input.expectedNodes, peerWaitMs };
      try {
        await client.workflow.signalWithStart('volumeRecovery', {
          workflowId: volumeRecoveryId(input.volumeId, input.epoch),
          taskQueue: CONTROL_TASK_QUEUE,
          args: [args],
          signal: candidateSignal,
          signalArgs: [input.report],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
        return true;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
        throw err;
      }
    },
  };
}
