// repairPass: one pass of the repair loop, started by the Temporal Schedule `fleet-repair` at each
// interval (overlap: skip). It reads the facts, asks the rule (common/rules/repair.ts) what to
// repair, starts the repairs, and records what it tried. Rebuilds are `volumeRebuild` children
// left running when the pass ends; the next pass sees whether they repaired the volume.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, log, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { planRepairs, settleRepairs, volumeRepairId, type RepairAction, type RepairOutcome } from '../common/rules/repair.js';
import { CONTROL, PROBE } from './activity-profiles.js';
import { deleteUnlessRefused } from './failover.js';
import { volumeRebuild } from './volume-maintenance.js';

const control = proxyActivities<Activities>(CONTROL);
const probe = proxyActivities<Activities>(PROBE);

export interface RepairPassResult {
  found: number;
  actions: { kind: RepairAction['kind']; subjects: string[]; error: string | null }[];
}

export async function repairPass(): Promise<RepairPassResult> {
  const { facts, policy } = await control.readRepairFacts();
  const plan = planRepairs(facts, policy);
  const outcomes = await Promise.all(plan.actions.map(attempt));
  const changes = settleRepairs(facts, plan, outcomes, policy);
  if (changes.upserts.length > 0 || changes.resolved.length > 0) await control.recordRepairs(changes);
  return {
    found: plan.found.length,
    actions: plan.actions.map((a, i) => ({ kind: a.kind, subjects: a.subjects, error: outcomes[i]!.error })),
  };
}

async function attempt(action: RepairAction): Promise<RepairOutcome> {
  try {
    await run(action);
    return { subjects: action.subjects, error: null };
  } catch (err) {
    const message = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    log.warn(`repair ${action.kind} of ${action.subjects.join(', ')} failed`, { message });
    return { subjects: action.subjects, error: message };
  }
}

async function run(action: RepairAction): Promise<void> {
  switch (action.kind) {
    case 'rebuild':
      return rebuild(action);
    case 'abandon':
      return abandon(action);
    case 'report':
      await control.askNodeToReport({ nodeId: action.nodeId, state: action.state, newestIncident: action.newestIncident });
  }
}

/** A new secondary from the volume's only copy, by the same workflow a failover starts. */
async function rebuild({ volumeId, source, epoch, attempt }: Extract<RepairAction, { kind: 'rebuild' }>): Promise<void> {
  try {
    await startChild(volumeRebuild, {
      workflowId: volumeRepairId(volumeId, epoch, attempt),
      args: [{ volumeId, source, epoch }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Repair: rebuild a secondary of ${volumeId} from ${source} (epoch ${epoch}, attempt ${attempt})`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err; // this attempt runs already
  }
}

/** As a failed rebuild ends (copies.ts addCopy): the copy leaves the volume, the primary mirrors to nobody, the copy goes. */
async function abandon({ volumeId, nodeId, epoch, dropPeerOf }: Extract<RepairAction, { kind: 'abandon' }>): Promise<void> {
  if (!(await control.abandonStuckRebuild({ volumeId, nodeId }))) return;
  if (dropPeerOf) await probe.promoteCopy({ nodeId: dropPeerOf, volumeId, epoch }).catch(() => undefined);
  await deleteUnlessRefused({ nodeId, volumeId, reason: 'rebuild left with no workflow; abandoned by the repair loop' }, { giveUp: true });
}
