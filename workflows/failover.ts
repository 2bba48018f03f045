// Failing a volume over to its surviving copy, in the order that never strands data:
// the survivor accepts the new epoch first; only then does the inventory record it.
import { ActivityFailure, ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { CONTROL, PROBE } from './activity-profiles.js';

const control = proxyActivities<Activities>(CONTROL);
const probe = proxyActivities<Activities>(PROBE);

/**
 * `moved`: the volume now serves from another copy at epoch+1. `not-member`: the copy had
 * already left the volume. `no-survivor`: no live copy could take over; nothing changed.
 */
export type FailoverOutcome = 'moved' | 'not-member' | 'no-survivor';

export async function failOver(volumeId: string, leavingNodeId: string): Promise<FailoverOutcome> {
  const plan = await control.planFailover({ volumeId, nodeId: leavingNodeId });
  if (!plan) return (await control.isMember({ volumeId, nodeId: leavingNodeId })) ? 'no-survivor' : 'not-member';
  try {
    await probe.promoteCopy({ nodeId: plan.survivor, volumeId, epoch: plan.epoch });
  } catch {
    return 'no-survivor'; // the inventory thought it healthy, but it did not answer
  }
  const { changed } = await control.commitFailover(plan);
  return changed ? 'moved' : 'no-survivor';
}

/**
 * Deletes a copy unless the activity's safety re-check refuses (UnsafeDeletion): then the copy
 * is kept and the refusal logged, and the workflow goes on rather than failing.
 */
export async function deleteUnlessRefused(ref: { nodeId: string; volumeId: string; reason: string }): Promise<boolean> {
  try {
    await control.deleteCopy(ref);
    return true;
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (!(cause instanceof ApplicationFailure) || cause.type !== 'UnsafeDeletion') throw err;
    log.warn('deletion refused by the safety re-check; copy kept', { ...ref, message: cause.message });
    return false;
  }
}
