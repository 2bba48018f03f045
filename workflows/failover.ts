// Failing a volume over to its surviving copy, in the order that never strands data:
// the survivor accepts the new epoch first; only then does the inventory record it.
import { ActivityFailure, ApplicationFailure, log, ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { volumeRebuildId } from '../common/messages.js';
import { CONTROL, CONTROL_BOUNDED, PROBE } from './activity-profiles.js';
import { volumeRebuild } from './volume-maintenance.js';

const control = proxyActivities<Activities>(CONTROL);
const probe = proxyActivities<Activities>(PROBE);
const bounded = proxyActivities<Activities>(CONTROL_BOUNDED);

/**
 * `moved`: the volume now serves from another copy at epoch+1, and a new secondary is being
 * rebuilt for it. `not-member`: the copy had already left the volume. `no-survivor`: no live
 * copy could take over; nothing changed.
 */
export type FailoverOutcome = 'moved' | 'not-member' | 'no-survivor';

/** `fromEpoch`: only if the volume is still at that epoch (a peer drop asked at it). */
export async function failOver(volumeId: string, leavingNodeId: string, fromEpoch?: number): Promise<FailoverOutcome> {
  const plan = await control.planFailover({ volumeId, nodeId: leavingNodeId, ...(fromEpoch === undefined ? {} : { fromEpoch }) });
  if (plan) {
    try {
      await probe.promoteCopy({ nodeId: plan.survivor, volumeId, epoch: plan.epoch });
      if ((await control.commitFailover(plan)).changed) {
        await rebuildSecondary(volumeId, plan.survivor, plan.epoch);
        return 'moved';
      }
    } catch {
      // the inventory thought the survivor healthy, but it did not answer
    }
  }
  // Another workflow may have moved the volume meanwhile: membership decides, not this attempt.
  return (await control.isMember({ volumeId, nodeId: leavingNodeId })) ? 'no-survivor' : 'not-member';
}

/**
 * Deletes a copy unless the activity's safety re-check refuses (UnsafeDeletion): then the copy
 * is kept and the refusal logged, and the workflow goes on rather than failing. With
 * `giveUp`, a node that does not answer is given up on too: its copy, left behind, is stale
 * by the time the node reports again, and is deleted then.
 */
export async function deleteUnlessRefused(
  ref: { nodeId: string; volumeId: string; reason: string },
  { giveUp = false }: { giveUp?: boolean } = {},
): Promise<boolean> {
  try {
    await (giveUp ? bounded : control).deleteCopy(ref);
    return true;
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    const refused = cause instanceof ApplicationFailure && cause.type === 'UnsafeDeletion';
    if (!refused && !(giveUp && err instanceof ActivityFailure)) throw err;
    log.warn(refused ? 'deletion refused by the safety re-check; copy kept' : 'node did not answer; copy left for later', {
      ...ref,
      message: cause?.message,
    });
    return false;
  }
}

/** A new secondary for a volume that serves from one copy, rebuilt by its own workflow. */
export async function rebuildSecondary(volumeId: string, source: string, epoch: number): Promise<void> {
  await startChild(volumeRebuild, {
    workflowId: volumeRebuildId(volumeId, epoch),
    args: [{ volumeId, source, epoch }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `Rebuild a secondary of ${volumeId} from ${source} (epoch ${epoch})`,
  });
}
